"""diffphase.validation: trained models measured against the theory, reports and the
``diffphase`` command. Imports numerics and theory, never the other way round."""
