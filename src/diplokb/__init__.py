"""diplokb: a hand-curated, citable knowledge graph of diplomatic relations.

Library API (the CLI is a thin layer over it):

    Project.find()            where the KB, ontology, shapes and queries live
    Project.build()           load -> compile -> validate -> export (BuildResult)
    Project.validate()        SHACL report mapped to YAML locations
    Project.store()           a SPARQL store over the exports
"""
from .errors import BuildError, DiplokbError, Problem, QueryError, SourceLocation

__version__ = "0.1.0"
__all__ = ["BuildError", "BuildResult", "DiplokbError", "Problem", "Project", "QueryError",
           "SourceLocation", "__version__"]


def __getattr__(name: str):
    """`Project` and `BuildResult` are imported on first use, so that importing the package
    (as `diplokb --help` does) does not import the whole pipeline."""
    if name in ("BuildResult", "Project"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'diplokb' has no attribute {name!r}")
