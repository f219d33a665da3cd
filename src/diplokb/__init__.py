"""diplokb: a hand-curated, citable knowledge graph of diplomatic relations.

Library API (the CLI is a thin layer over it):

    Project.find()            where the KB, ontology, shapes and queries live
    Project.build()           load -> compile -> validate -> export (BuildResult)
    Project.validate()        SHACL report mapped to YAML locations
    Project.store()           a SPARQL store over the exports
"""
__version__ = "0.1.0"
__all__ = ["BuildError", "BuildResult", "DiplokbError", "Problem", "Project", "QueryError",
           "SourceLocation", "__version__"]


def __getattr__(name: str):
    """Every name is imported on first use, so that importing the package (as `diplokb --help`
    does) imports neither the pipeline nor the errors module (and typing, collections, re)."""
    if name in ("BuildResult", "Project"):
        from . import pipeline

        return getattr(pipeline, name)
    if name in ("BuildError", "DiplokbError", "Problem", "QueryError", "SourceLocation"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'diplokb' has no attribute {name!r}")
