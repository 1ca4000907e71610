"""Progress bars of long runs (tqdm, a declared dependency), on stderr.

:class:`Progress` is the bar of a training run (step, loss, learning rate) or of a sweep
(calls done); disabled, it does nothing.
"""

from __future__ import annotations

from tqdm.auto import tqdm

__all__ = ["Progress"]


class Progress:
    """A tqdm bar over ``total`` steps starting at ``initial``; silent when ``enabled`` is
    False.

    Parameters
    ----------
    total : int
    initial : int
        Steps already done (a resumed run).
    enabled : bool
    desc : str
        Label of the bar.
    """

    def __init__(self, total: int, initial: int = 0, enabled: bool = True, desc: str = ""):
        self.total = total
        self.bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True, leave=False) if enabled else None

    def update(self, step: int, loss: float | None = None, lr: float | None = None) -> None:
        """Advance by one; show ``loss`` and ``lr`` every 10 steps and at the end."""
        if self.bar is None:
            return
        self.bar.update(1)
        if loss is not None and (step % 10 == 0 or step == self.total):
            post = {"loss": f"{loss:.4f}"}
            if lr is not None:
                post["lr"] = f"{lr:.2e}"
            self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
