"""The BILL spec and the one place that reads it: ``bill-v3.json`` (bundled from ``spec/``) and its toolkit.

Used by codegen (``bundle.py``, ``lint_spec.py``, ``generate.py``), FakeBill (``bill_sdk.testing.spec``,
``.schemas``) and the tests; the SDK itself never reads the spec at run time.

* :mod:`.document`: load the bundled document, bundle ``spec/`` into it, follow ``$ref``, read schemas.
* :mod:`.operations`: every operation with its references resolved, and the facts it carries (family, auth,
  idempotency, pagination, parameter bounds).
"""

from .document import (
    PARTS,
    BundleError,
    bundle,
    bundled_resource,
    deref,
    dump,
    follow,
    iter_refs,
    load_bundled,
    load_document,
    pointer_escape,
    pointer_unescape,
    property_schema,
    resolve_pointer,
    resolve_schema,
    schema_branches,
    schema_name,
    schema_parts,
    schema_properties,
)
from .operations import (
    API_PREFIXES,
    EVENTS_PREFIX,
    FAMILIES,
    HTTP_METHODS,
    IDEMPOTENCY_HEADER,
    Parameter,
    SpecOperation,
    family_of_tag,
    iter_raw_operations,
    read_operations,
    spec_path,
    split_tag,
)

__all__ = [
    "API_PREFIXES",
    "EVENTS_PREFIX",
    "FAMILIES",
    "HTTP_METHODS",
    "IDEMPOTENCY_HEADER",
    "PARTS",
    "BundleError",
    "Parameter",
    "SpecOperation",
    "bundle",
    "bundled_resource",
    "deref",
    "dump",
    "family_of_tag",
    "follow",
    "iter_raw_operations",
    "iter_refs",
    "load_bundled",
    "load_document",
    "pointer_escape",
    "pointer_unescape",
    "property_schema",
    "read_operations",
    "resolve_pointer",
    "resolve_schema",
    "schema_branches",
    "schema_name",
    "schema_parts",
    "schema_properties",
    "spec_path",
    "split_tag",
]
