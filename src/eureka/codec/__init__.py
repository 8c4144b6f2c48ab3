"""Eureka's wire dialects, both directions: `eureka.codec.json` and `eureka.codec.xml`.

Both modules offer the same surface (protocol.md §4):

* `decode_instance(data)`, `decode_application(data)`, `decode_applications(data)` — accept the
  union of dialects real parties write (root wrapper required); raise `eureka.errors.BadInput`
  and nothing else on bad input. `max_bytes` bounds the document size.
* `encode_instance(instance)`, `encode_application(application)`,
  `encode_applications(applications, compact=False)` — exactly what the Java server writes
  (JSON: dialect A / JacksonJsonMini; XML: XStream / JacksonXmlMini).
* `encode_instance_fragment(instance, compact=False)` and `join_applications(...)` — the building
  blocks the response cache uses so that a change re-encodes one instance, not the registry.

The JSON module also has `instance_to_obj` / `instance_from_obj` (no root wrapper) for the
peer-replication batch, which embeds an InstanceInfo as a plain object.
"""
