"""Tasks of the ``notifications`` queue: load by id, call a service, nothing else."""
