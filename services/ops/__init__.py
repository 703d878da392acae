"""Operating the pipeline: `newsflow status`, the one-shot init (topics + index contract), container health checks."""
