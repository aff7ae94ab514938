"""karmada-scheduler semantics: filters, scores, spread selection, replica division, estimation."""
