//! The HTTP API (`/api/v1/`) over the real binary, checked against its
//! OpenAPI document (docs/openapi.json): every documented call is made as
//! the document describes it, and its answers (status, and the 200's JSON
//! fields and their types) are the documented ones; 401 without a token and
//! 403 without the scope; posted lines reach a line client; paging by
//! `since` reaches every line once; a post and a read share one kept-alive
//! connection, and a refusal closes it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use chat_tests::{HttpReply, ServerProcess, TIMEOUT, http_request, read_reply};
use serde_json::Value;

const ADMIN: &str = "admin-token-0123456789";
const POSTER: &str = "poster-token-0123456789";

fn server() -> ServerProcess {
    ServerProcess::builder()
        .file("admin.token", &format!("{ADMIN}\n"))
        .config(&format!(
            "[[api_tokens]]\nname = \"ops\"\ntoken_file = \"admin.token\"\nscopes = [\"admin\"]\n\n\
             [[api_tokens]]\nname = \"deployer\"\ntoken = \"{POSTER}\"\nscopes = [\"post\"]\n"
        ))
        .args(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0,web",
            "--no-console",
        ])
        .start()
}

/// `method target` with `token` (none if empty) and a JSON `body`.
fn call(addr: SocketAddr, method: &str, target: &str, token: &str, body: &str) -> HttpReply {
    let auth = match token {
        "" => String::new(),
        token => format!("Authorization: Bearer {token}\r\n"),
    };
    http_request(
        addr,
        &format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn json(reply: &HttpReply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("not JSON ({e}): {reply:?}"))
}

fn openapi() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `schema` with a `$ref` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("no {reference} in the document"))
        }
        None => schema,
    }
}

/// Whether `value` has the type `schema` says, and (objects) its required
/// fields, and (arrays) items of the type said, recursively.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if value.is_null() && schema["nullable"] == Value::Bool(true) {
        return;
    }
    let fits = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_u64() || value.is_i64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    assert!(fits, "{at}: {value} is not of {schema}");
    for field in schema["required"].as_array().into_iter().flatten() {
        let name = field.as_str().unwrap_or_default();
        assert!(
            value.get(name).is_some(),
            "{at}: no field {name} in {value}"
        );
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (name, field) in object {
            let described = properties.get(name);
            let described = described.unwrap_or_else(|| panic!("{at}: {name} is not documented"));
            check(doc, described, field, &format!("{at}.{name}"));
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{i}]"));
        }
    }
}

#[test]
fn every_documented_call_answers_as_the_openapi_document_says() {
    let server = server();
    let web = server.web_addr();
    let mut nc = server.join();
    let doc = openapi();
    let paths = doc["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths"));
    let mut made = BTreeSet::new();
    // The post first, so the reads have a line to find.
    let mut operations: Vec<(&String, &String, &Value)> = paths
        .iter()
        .flat_map(|(path, ops)| {
            let ops = ops.as_object().into_iter().flatten();
            ops.map(move |(method, op)| (path, method, op))
        })
        .collect();
    operations.sort_by_key(|(_, method, _)| *method != "post");
    for (path, method, op) in operations {
        let mut target = path.clone();
        let mut query = Vec::new();
        for param in op["parameters"].as_array().into_iter().flatten() {
            let (name, example) = (
                param["name"].as_str().unwrap_or_default(),
                &param["example"],
            );
            let example = example
                .as_str()
                .map_or_else(|| example.to_string(), str::to_owned);
            match param["in"].as_str() {
                Some("path") => target = target.replace(&format!("{{{name}}}"), &example),
                _ => query.push(format!("{name}={example}")),
            }
        }
        if !query.is_empty() {
            target = format!("{target}?{}", query.join("&"));
        }
        let body = op["requestBody"]["content"]["application/json"]["example"].to_string();
        let body = if body == "null" { String::new() } else { body };
        let method = method.to_ascii_uppercase();
        let responses = &op["responses"];

        let reply = call(web, &method, &target, ADMIN, &body);
        assert_eq!(reply.status, 200, "{method} {target}: {reply:?}");
        let schema = &responses["200"]["content"]["application/json"]["schema"];
        check(&doc, schema, &json(&reply), &format!("{method} {target}"));

        let refused = call(web, &method, &target, "", &body);
        assert_eq!(refused.status, 401, "{method} {target}: {refused:?}");
        assert!(
            responses.get("401").is_some(),
            "{method} {path}: 401 undocumented"
        );
        let error = &doc["components"]["schemas"]["Error"];
        check(
            &doc,
            error,
            &json(&refused),
            &format!("{method} {target} (401)"),
        );
        made.insert(format!("{method} {path}"));
    }
    assert_eq!(made.len(), 5, "{made:?}");
    nc.expect_body("<ops[api]> deploy finished");
}

#[test]
fn scopes_are_kept_and_posted_lines_are_read_back_a_page_at_a_time() {
    let server = server();
    let web = server.web_addr();
    let mut nc = server.join();
    let messages = "/api/v1/rooms/lobby/messages";

    let forbidden = call(web, "GET", messages, POSTER, "");
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    assert_eq!(json(&forbidden)["error"], "forbidden");
    let wrong = call(web, "GET", messages, "admin-token-012345678X", "");
    assert_eq!(
        (wrong.status, json(&wrong)["error"].as_str()),
        (401, Some("unauthorized"))
    );

    let mut said = Vec::new();
    for i in 0..7 {
        let reply = call(
            web,
            "POST",
            messages,
            POSTER,
            &format!(r#"{{"text": "line {i}"}}"#),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        said.push(
            json(&reply)["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{reply:?}")),
        );
        nc.expect_body(&format!("<deployer[api]> line {i}"));
    }
    let mut read = Vec::new();
    let mut since = 0;
    loop {
        let page = json(&call(
            web,
            "GET",
            &format!("{messages}?since={since}&limit=3"),
            ADMIN,
            "",
        ));
        let lines = page["messages"].as_array().cloned().unwrap_or_default();
        assert!(lines.len() <= 3, "{page}");
        read.extend(lines.iter().filter_map(|line| line["id"].as_u64()));
        if page["more"] != Value::Bool(true) {
            break;
        }
        since = page["next_since"]
            .as_u64()
            .unwrap_or_else(|| panic!("{page}"));
    }
    assert_eq!(read, said, "every line once, in order");

    let bad = call(web, "POST", messages, POSTER, r#"{"txet": "x"}"#);
    assert_eq!(
        (bad.status, json(&bad)["error"].as_str()),
        (400, Some("bad_body"))
    );
    let found = json(&call(
        web,
        "GET",
        "/api/v1/search?room=lobby&q=line+4",
        ADMIN,
        "",
    ));
    assert_eq!(found["messages"][0]["text"], "line 4", "{found}");
}

#[test]
fn a_post_and_a_read_share_one_kept_alive_connection_until_a_refusal() {
    let server = server();
    let web = server.web_addr();
    let mut nc = server.join();
    let mut stream = TcpStream::connect(web).unwrap_or_else(|e| panic!("{e}"));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ask = |method: &str, token: &str, body: &str| {
        let request = format!(
            "{method} /api/v1/rooms/lobby/messages HTTP/1.1\r\nHost: {web}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("cannot send {method}: {e}"));
        read_reply(&mut stream, method)
    };
    let posted = ask("POST", POSTER, r#"{"text": "kept alive"}"#);
    assert_eq!(posted.status, 200, "{posted:?}");
    assert!(posted.head.contains("Connection: keep-alive"), "{posted:?}");
    nc.expect_body("<deployer[api]> kept alive");
    let read = ask("GET", ADMIN, "");
    assert_eq!(read.status, 200, "{read:?}");
    assert!(read.body.contains("kept alive"), "{read:?}");
    // A refusal closes the connection after its answer.
    let refused = ask("GET", POSTER, "");
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.head.contains("Connection: close"), "{refused:?}");
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .unwrap_or_else(|e| panic!("the server did not close: {e}"));
    assert!(rest.is_empty(), "{rest:?}");
}
