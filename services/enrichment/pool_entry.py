"""The enrichment's entry into its worker pool: the models, loaded once, and the NLP step.

The NLP logic itself is `logic.enrich`; this module only makes it the `StageLogic` the pool
runs. The service runs it in a `WorkerPool` (services/common/workers.py): `prepare_worker`
runs once in the pool's zygote and loads every model (a few seconds); the workers are forks
of it, so they share the models' memory and a replaced worker is ready at once. Each call
is under the pool's time limit: an article over it is dead-lettered as `timeout` and its
worker replaced; a worker that dies twice on one article dead-letters it as
`worker-crashed` (a poison article must not stop the stream).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from schemas.parsed_article_v1 import ParsedArticleV1
from services.common.stage import Outcome, StageLogic


def nlp_logic(models) -> StageLogic:  # type: ignore[no-untyped-def, type-arg]
    from services.enrichment.logic import enrich

    return StageLogic(
        name="enrichment", input_model=ParsedArticleV1, process=partial(enrich, models=models),
        key_of=lambda article: article.id.encode(),
    )


def prepare_worker(preload_languages: tuple[str, ...] | str | None = None) -> Callable[[bytes | None], Outcome]:
    """Runs once in the zygote: load every model (and the lemma dictionaries of
    `preload_languages`, default `logic.DEFAULT_PRELOAD_LANGUAGES`), return the handler
    every worker calls."""
    from services.enrichment.logic import DEFAULT_PRELOAD_LANGUAGES, load_models

    return nlp_logic(load_models(preload_languages if preload_languages is not None else DEFAULT_PRELOAD_LANGUAGES)).handle
