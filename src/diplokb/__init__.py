"""diplokb: a hand-curated, citable knowledge graph of diplomatic relations.

Library API (the CLI is a thin layer over it):

    Project.find()            where the KB, ontology, shapes and queries live
    Project.build()           load -> compile -> validate -> export (BuildResult)
    Project.validate()        SHACL report mapped to YAML locations
    Project.store()           a SPARQL store over the exports
"""
from .errors import BuildError, DiplokbError, Problem, QueryError, SourceLocation
from .pipeline import BuildResult, Project

__version__ = "0.1.0"
__all__ = ["BuildError", "BuildResult", "DiplokbError", "Problem", "Project", "QueryError",
           "SourceLocation", "__version__"]
