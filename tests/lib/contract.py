# contract.py DOC METHOD TEMPLATE STATUS BODY_FILE HEADERS_FILE - check one HTTP
# answer against the operation's documented response in an OpenAPI 3.1 document
# (status, headers, Content-Type, and the body against its JSON schema with
# Python's jsonschema). Prints what does not match and exits 1; silent on a match.
# Used by the integration tests that walk the API (test_openapi.sh, ...).
import json, sys
doc_path, method, tmpl, status, body_path, hdr_path = sys.argv[1:7]
doc = json.load(open(doc_path))

def resolve(ref):
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node

def deref(node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(node["$ref"])
    return node

op = doc["paths"].get(tmpl, {}).get(method.lower())
if op is None:
    sys.exit(f"{method} {tmpl} is not in the document")
resps = op["responses"]
resp = resps.get(status) or resps.get(status[0] + "XX") or resps.get("default")
if resp is None:
    sys.exit(f"status {status} is not documented for {method} {tmpl} "
             f"(documented: {', '.join(sorted(resps))})")
resp = deref(resp)
headers = {}
for line in open(hdr_path, encoding="utf-8", errors="replace"):
    if ":" in line:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
problems = []
for h in resp.get("headers", {}):
    if h.lower() not in headers:
        problems.append(f"documented header {h} is missing")
body = open(body_path, "rb").read()
content = resp.get("content")
if not content:
    if body.strip():
        problems.append("documented without a body, but a body came")
elif method != "HEAD":
    ctype = headers.get("content-type", "").split(";")[0].strip()
    if ctype not in content:
        problems.append(f"Content-Type {ctype!r} is not documented ({', '.join(content)})")
    else:
        schema = content[ctype].get("schema", {})
        try:
            value = json.loads(body)
        except ValueError as e:
            problems.append(f"the body is not JSON: {e}")
        else:
            from jsonschema import Draft202012Validator
            root = {"components": doc["components"], "allOf": [schema]}
            v = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
            for err in sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))[:5]:
                where = "/".join(str(p) for p in err.absolute_path) or "(body)"
                problems.append(f"{where}: {err.message[:200]}")
if problems:
    sys.exit("; ".join(problems))
