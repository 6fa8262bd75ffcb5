//! The documented RAM policies grant every Alibaba Cloud action the code calls: README's
//! "RAM policy" block and template.yml's role policies. The calls are found by scanning src/
//! with a small Rust tokenizer:
//!
//! * `.rpc(Product::X, "Action", …)`, `.rpc_with_form(…)`, `.roa(Product::X, "Action", …)`;
//! * `.roa_request(Product::X, &req)` with `RoaRequest { action: "Action", … }` in the function;
//! * `OssRequest::object|bucket|service("Action", …)` → `oss:Action`; `.oss_get/put/delete(` → `oss:GetObject`,
//!   `oss:PutObject`, `oss:DeleteObject`;
//! * an action held in a `let` (`let action = if … { "A" } else { "B" };`), in table fields
//!   (`self.api.product` + `self.api.set` → every struct literal with both fields), or passed
//!   through a wrapper (`fn call(&self, action: &str, …)` calling `.rpc(Product::X, action, …)`:
//!   every `call("Action", …)` in that file, or `call(listing.action, …)` → the `action:` fields
//!   of that file's struct literals).
//!
//! A call site it cannot resolve fails the test with its file and line, so a new way of calling
//! is never silently missed. `#[cfg(test)]` items are skipped. Run with `--nocapture` to see
//! every call found.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    /// Numbers, lifetimes, char literals.
    Other,
}

#[derive(Debug, Clone)]
struct T {
    tok: Tok,
    line: usize,
}

fn tokenize(src: &str) -> Vec<T> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let push = |out: &mut Vec<T>, tok, line| out.push(T { tok, line });
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some((s, len, lines)) = raw_string(&c[i..]) {
            push(&mut out, Tok::Str(s), line);
            line += lines;
            i += len;
        } else if ch == '"' || (ch == 'b' && c.get(i + 1) == Some(&'"')) {
            let start_line = line;
            i += if ch == 'b' { 2 } else { 1 };
            let mut s = String::new();
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    s.push(c[i]);
                    i += 1;
                }
                if c[i] == '\n' {
                    line += 1;
                }
                s.push(c[i]);
                i += 1;
            }
            i += 1;
            push(&mut out, Tok::Str(s), start_line);
        } else if ch == '\'' {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
            push(&mut out, Tok::Other, line);
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            push(&mut out, Tok::Ident(c[start..i].iter().collect()), line);
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            push(&mut out, Tok::Other, line);
        } else {
            push(&mut out, Tok::Punct(ch), line);
            i += 1;
        }
    }
    out
}

/// `r"…"`, `r#"…"#`, `br"…"`: (content, characters consumed, newlines inside).
fn raw_string(c: &[char]) -> Option<(String, usize, usize)> {
    let mut i = match c {
        ['r', ..] => 1,
        ['b', 'r', ..] => 2,
        _ => return None,
    };
    let mut hashes = 0;
    while c.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if c.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    let start = i;
    loop {
        if i >= c.len() {
            return None;
        }
        if c[i] == '"' && (1..=hashes).all(|h| c.get(i + h) == Some(&'#')) {
            let s: String = c[start..i].iter().collect();
            let lines = s.matches('\n').count();
            return Some((s, i + 1 + hashes, lines));
        }
        i += 1;
    }
}

fn is(t: &[T], i: usize, want: &Tok) -> bool {
    t.get(i).is_some_and(|x| &x.tok == want)
}

fn ident(t: &[T], i: usize) -> Option<&str> {
    match t.get(i).map(|x| &x.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn p(ch: char) -> Tok {
    Tok::Punct(ch)
}

/// Index of the bracket closing the one at `open`.
fn matching(t: &[T], open: usize) -> usize {
    let mut depth = 0i32;
    for (i, x) in t.iter().enumerate().skip(open) {
        match x.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    t.len() - 1
}

/// The comma-separated arguments inside the brackets at `open`.
fn args(t: &[T], open: usize) -> Vec<Vec<T>> {
    let close = matching(t, open);
    let mut out = vec![Vec::new()];
    let mut depth = 0;
    for x in &t[open + 1..close] {
        match x.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                out.push(Vec::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().unwrap().push(x.clone());
    }
    if out.last().is_some_and(|a| a.is_empty()) {
        out.pop();
    }
    out
}

/// The tokens without `#[cfg(test)]` items.
fn without_tests(t: Vec<T>) -> Vec<T> {
    let pat = [p('#'), p('[')];
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if is(&t, i, &pat[0])
            && is(&t, i + 1, &pat[1])
            && ident(&t, i + 2) == Some("cfg")
            && is(&t, i + 3, &p('('))
            && ident(&t, i + 4) == Some("test")
            && is(&t, i + 5, &p(')'))
        {
            // Skip the attribute, then the item: to its `;` or its braces.
            let mut j = matching(&t, i + 1) + 1;
            while j < t.len() && !is(&t, j, &p('{')) && !is(&t, j, &p(';')) {
                j += 1;
            }
            if is(&t, j, &p('{')) {
                j = matching(&t, j);
            }
            i = j + 1;
            continue;
        }
        out.push(t[i].clone());
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Functions and call sites
// ---------------------------------------------------------------------------------------------

struct Func {
    name: String,
    /// Parameter names, `self` excluded.
    params: Vec<String>,
    /// Their types' last identifier (`&Listing` → `Listing`).
    types: Vec<Option<String>>,
    body: (usize, usize),
}

fn functions(t: &[T]) -> Vec<Func> {
    let mut out = Vec::new();
    for i in 0..t.len() {
        if ident(t, i) != Some("fn") {
            continue;
        }
        let Some(name) = ident(t, i + 1) else {
            continue;
        };
        let Some(open) = (i + 2..t.len()).find(|&j| is(t, j, &p('('))) else {
            continue;
        };
        let (params, types) = args(t, open)
            .iter()
            .filter_map(|a| {
                let colon = a.iter().position(|x| x.tok == p(':'))?;
                let name = a[..colon].iter().rev().find_map(|x| match &x.tok {
                    Tok::Ident(s) if s != "mut" && s != "self" => Some(s.clone()),
                    _ => None,
                })?;
                let ty = a[colon + 1..].iter().rev().find_map(|x| match &x.tok {
                    Tok::Ident(s) => Some(s.clone()),
                    _ => None,
                });
                Some((name, ty))
            })
            .unzip();
        let close = matching(t, open);
        let mut j = close + 1;
        while j < t.len() && !is(t, j, &p('{')) && !is(t, j, &p(';')) {
            j += 1;
        }
        if is(t, j, &p('{')) {
            out.push(Func {
                name: name.to_string(),
                params,
                types,
                body: (j, matching(t, j)),
            });
        }
    }
    out
}

/// The innermost function whose body holds token `i`.
fn enclosing(funcs: &[Func], i: usize) -> Option<&Func> {
    funcs
        .iter()
        .filter(|f| f.body.0 < i && i < f.body.1)
        .min_by_key(|f| f.body.1 - f.body.0)
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lits(Vec<String>),
    Product(String),
    Param(usize),
    /// A path like `self.api.set`: its first identifier and its last field.
    Field(String, String),
    Unknown(String),
}

fn text(a: &[T]) -> String {
    a.iter()
        .map(|x| match &x.tok {
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Punct(c) => c.to_string(),
            Tok::Other => "…".into(),
        })
        .collect()
}

fn is_action_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What an argument is, looking into the enclosing function for `let` bindings.
fn classify(t: &[T], arg: &[T], func: Option<&Func>) -> Expr {
    let arg: Vec<&T> = arg.iter().filter(|x| x.tok != p('&')).collect();
    let toks: Vec<&Tok> = arg.iter().map(|x| &x.tok).collect();
    match toks.as_slice() {
        [Tok::Str(s)] => return Expr::Lits(vec![s.clone()]),
        [Tok::Ident(a), Tok::Punct(':'), Tok::Punct(':'), Tok::Ident(x)] if a == "Product" => {
            return Expr::Product(x.clone())
        }
        [Tok::Ident(x)] => {
            if let Some(f) = func {
                if let Some(k) = f.params.iter().position(|p| p == x) {
                    return Expr::Param(k);
                }
                // `let x = …;` earlier in the function: every action-like literal in it.
                for i in f.body.0..f.body.1 {
                    let at = if ident(t, i + 1) == Some("mut") {
                        i + 2
                    } else {
                        i + 1
                    };
                    if ident(t, i) == Some("let")
                        && ident(t, at) == Some(x)
                        && is(t, at + 1, &p('='))
                    {
                        let mut lits = Vec::new();
                        let mut depth = 0;
                        for y in &t[at + 2..f.body.1] {
                            match &y.tok {
                                Tok::Punct('(' | '[' | '{') => depth += 1,
                                Tok::Punct(')' | ']' | '}') => depth -= 1,
                                Tok::Punct(';') if depth == 0 => break,
                                Tok::Str(s) if is_action_name(s) => lits.push(s.clone()),
                                _ => {}
                            }
                        }
                        // `let x = y.method();`: the literals `fn method` returns (an enum
                        // naming its actions, e.g. alb.rs `Write::action`).
                        if lits.is_empty() {
                            if let [Tok::Ident(_), Tok::Punct('.'), Tok::Ident(m), Tok::Punct('('), Tok::Punct(')'), Tok::Punct(';'), ..] =
                                t[at + 2..f.body.1]
                                    .iter()
                                    .map(|y| &y.tok)
                                    .collect::<Vec<_>>()
                                    .as_slice()
                            {
                                lits = method_literals(t, m);
                            }
                        }
                        if !lits.is_empty() {
                            return Expr::Lits(lits);
                        }
                    }
                }
            }
        }
        [Tok::Ident(base), rest @ ..]
            if !rest.is_empty()
                && rest.len() % 2 == 0
                && rest
                    .chunks(2)
                    .all(|c| c[0] == &p('.') && matches!(c[1], Tok::Ident(_))) =>
        {
            if let Tok::Ident(f) = rest[rest.len() - 1] {
                return Expr::Field(base.clone(), f.clone());
            }
        }
        _ => {}
    }
    Expr::Unknown(text(&arg.into_iter().cloned().collect::<Vec<_>>()))
}

/// The action-like literals in the body of `fn name` in this file.
fn method_literals(t: &[T], name: &str) -> Vec<String> {
    functions(t)
        .into_iter()
        .filter(|f| f.name == name)
        .flat_map(|f| {
            t[f.body.0..f.body.1]
                .iter()
                .filter_map(|y| match &y.tok {
                    Tok::Str(s) if is_action_name(s) => Some(s.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A struct literal: the type named before its `{` (if any) and its `field: value` pairs.
struct Block {
    name: Option<String>,
    fields: BTreeMap<String, Vec<T>>,
    /// The file it is in.
    file: String,
}

impl Block {
    fn get(&self, field: &str) -> Option<&Vec<T>> {
        self.fields.get(field)
    }
}

/// Struct literals (`{ … }` blocks) with their depth-1 `field: value` pairs.
fn struct_literals(file: &str, t: &[T]) -> Vec<Block> {
    let mut out = Vec::new();
    for open in 0..t.len() {
        if !is(t, open, &p('{')) {
            continue;
        }
        let mut fields = BTreeMap::new();
        for a in args(t, open) {
            if let [T {
                tok: Tok::Ident(k), ..
            }, T {
                tok: Tok::Punct(':'),
                ..
            }, rest @ ..] = a.as_slice()
            {
                if !rest.is_empty() && rest[0].tok != p(':') {
                    fields.insert(k.clone(), rest.to_vec());
                }
            }
        }
        if !fields.is_empty() {
            let name = open
                .checked_sub(1)
                .and_then(|i| ident(t, i))
                .map(str::to_string);
            out.push(Block {
                name,
                fields,
                file: file.to_string(),
            });
        }
    }
    out
}

fn lit(v: &[T]) -> Option<String> {
    match v {
        [T {
            tok: Tok::Str(s), ..
        }] => Some(s.clone()),
        _ => None,
    }
}

fn product_of(v: &[T]) -> Option<String> {
    match classify(&[], v, None) {
        Expr::Product(x) => Some(x),
        _ => None,
    }
}

/// One Alibaba API call found in the source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    /// RAM action, e.g. `alidns:AddDomainRecord`.
    action: String,
    at: String,
    /// The file whose `RAM` table must declare it: the call site's, or the file holding the
    /// struct literal that names the action (dcdn.rs for cdn.rs's shared call), or the caller
    /// passing the product to a function that forwards it.
    file: String,
}

struct Source {
    path: String,
    toks: Vec<T>,
    funcs: Vec<Func>,
}

/// Every call of every file, plus the sites it could not resolve.
fn scan(files: &[(String, String)]) -> (Vec<Found>, Vec<String>) {
    let sources: Vec<Source> = files
        .iter()
        .map(|(path, src)| {
            let toks = without_tests(tokenize(src));
            let funcs = functions(&toks);
            Source {
                path: path.clone(),
                toks,
                funcs,
            }
        })
        .collect();
    let literals: Vec<(String, Vec<Block>)> = sources
        .iter()
        .map(|s| (s.path.clone(), struct_literals(&s.path, &s.toks)))
        .collect();
    let mut found = Vec::new();
    let mut unresolved = Vec::new();
    for s in &sources {
        let t = &s.toks;
        let at = |i: usize| format!("{}:{}", s.path, t[i].line);
        // `add(product, action, token index)`; `bad(message)`.
        macro_rules! add {
            ($product:expr, $action:expr, $i:expr) => {
                add!($product, $action, $i, s.path.clone())
            };
            ($product:expr, $action:expr, $i:expr, $file:expr) => {
                match ram_prefix($product) {
                    Some(prefix) => found.push(Found {
                        action: format!("{prefix}:{}", $action),
                        at: at($i),
                        file: $file,
                    }),
                    None => unresolved.push(format!(
                        "{}: Product::{} has no RAM prefix in tests/policy.rs ram_prefix()",
                        at($i),
                        $product
                    )),
                }
            };
        }
        for i in 0..t.len() {
            // OssRequest::object("Action", …) / OssRequest::bucket("Action", …)
            if ident(t, i) == Some("OssRequest")
                && is(t, i + 1, &p(':'))
                && matches!(ident(t, i + 3), Some("object" | "bucket" | "service"))
                && is(t, i + 4, &p('('))
            {
                let first = args(t, i + 4).into_iter().next().unwrap_or_default();
                let func = enclosing(&s.funcs, i);
                // The client's own helpers (`oss_get`, …): their callers are the sites.
                if s.path.starts_with("src/aliyun/client/")
                    && func.is_some_and(|f| f.name.starts_with("oss_"))
                {
                    continue;
                }
                // A put that sets `x-oss-object-acl` also needs oss:PutObjectAcl.
                let sets_acl = func.is_some_and(|f| {
                    t[f.body.0..f.body.1]
                        .iter()
                        .any(|x| x.tok == Tok::Str("x-oss-object-acl".into()))
                });
                match lit(&first) {
                    Some(a) => {
                        add!("Oss", &a, i);
                        if a == "PutObject" && sets_acl {
                            add!("Oss", "PutObjectAcl", i);
                        }
                    }
                    // A constructor forwarding its own parameter: its callers are the sites.
                    None if matches!(
                        classify(t, &first, enclosing(&s.funcs, i)),
                        Expr::Param(_)
                    ) => {}
                    None => unresolved.push(format!(
                        "{}: OssRequest::object/bucket/service without a literal action",
                        at(i)
                    )),
                }
                continue;
            }
            if !is(t, i, &p('.')) || !is(t, i + 2, &p('(')) {
                continue;
            }
            let Some(method) = ident(t, i + 1) else {
                continue;
            };
            let func = enclosing(&s.funcs, i);
            match method {
                "oss_get" => add!("Oss", "GetObject", i),
                // Every put sets `x-oss-object-acl: private`, which needs oss:PutObjectAcl
                // (OSS "Object ACLs": setting an object's ACL on upload).
                "oss_put" => {
                    add!("Oss", "PutObject", i);
                    add!("Oss", "PutObjectAcl", i);
                }
                "oss_delete" => add!("Oss", "DeleteObject", i),
                "oss_bucket_versioning" => add!("Oss", "GetBucketVersioning", i),
                // A presigned link is a GetObject signed with alicert's credentials.
                "oss_presigned_get" => add!("Oss", "GetObject", i),
                "rpc" | "rpc_with_form" | "roa" => {
                    let a = args(t, i + 2);
                    if a.len() < 2 {
                        unresolved
                            .push(format!("{}: .{method}( with fewer than 2 arguments", at(i)));
                        continue;
                    }
                    let product = classify(t, &a[0], func);
                    let action = classify(t, &a[1], func);
                    match (&product, &action) {
                        (Expr::Product(x), Expr::Lits(l)) => l.iter().for_each(|a| add!(x, a, i)),
                        // The generic client forwarding its own parameters: its callers are
                        // the call sites.
                        (Expr::Param(_), Expr::Param(_)) => {}
                        (Expr::Product(x), Expr::Param(k)) => {
                            let f = func.expect("a parameter implies a function");
                            let actions = wrapper_actions(s, &literals, &f.name, *k);
                            match actions {
                                Ok(list) if !list.is_empty() => {
                                    list.iter().for_each(|(a, j)| add!(x, a, *j))
                                }
                                Ok(_) => unresolved.push(format!(
                                    "{}: wrapper {}() is never called with a literal action",
                                    at(i),
                                    f.name
                                )),
                                Err(e) => unresolved.push(e),
                            }
                        }
                        (Expr::Field(_, pf), Expr::Field(_, af)) => {
                            let mut any = false;
                            for (_, blocks) in &literals {
                                for b in blocks {
                                    if let (Some(x), Some(a)) = (
                                        b.get(pf).and_then(|v| product_of(v)),
                                        b.get(af).and_then(|v| lit(v)),
                                    ) {
                                        add!(&x, &a, i, b.file.clone());
                                        any = true;
                                    }
                                }
                            }
                            if !any {
                                unresolved.push(format!(
                                    "{}: no struct literal has both `{pf}: Product::…` and `{af}: \"…\"`",
                                    at(i)
                                ));
                            }
                        }
                        _ => unresolved.push(format!(
                            "{}: .{method}({:?}, {:?}) not understood",
                            at(i),
                            product,
                            action
                        )),
                    }
                }
                "roa_request" => {
                    let a = args(t, i + 2);
                    match a.first().map(|x| classify(t, x, func)) {
                        Some(Expr::Param(k)) => {
                            // The product is the function's parameter `k`: each caller passing
                            // `Product::X` there calls the `action: "…"` of this function.
                            let f = func.expect("a parameter implies a function");
                            let actions: Vec<String> = (f.body.0..i)
                                .filter(|&j| ident(t, j) == Some("action") && is(t, j + 1, &p(':')))
                                .filter_map(|j| match t.get(j + 2).map(|x| &x.tok) {
                                    Some(Tok::Str(a)) => Some(a.clone()),
                                    _ => None,
                                })
                                .collect();
                            if actions.is_empty() {
                                // The generic client forwarding its own request.
                                continue;
                            }
                            let callers = product_callers(&sources, &f.name, k);
                            if callers.is_empty() {
                                unresolved.push(format!(
                                    "{}: {}() forwards its product and no caller passes `Product::…`",
                                    at(i),
                                    f.name
                                ));
                            }
                            for (x, file) in callers {
                                for a in &actions {
                                    add!(&x, a, i, file.clone());
                                }
                            }
                        }
                        Some(Expr::Product(x)) => {
                            // `RoaRequest { action: "…", … }` in the same function.
                            let f = func.expect("inside a function");
                            let mut got = Vec::new();
                            for j in f.body.0..i {
                                if ident(t, j) == Some("action") && is(t, j + 1, &p(':')) {
                                    if let Some(Tok::Str(a)) = t.get(j + 2).map(|x| &x.tok) {
                                        got.push(a.clone());
                                    }
                                }
                            }
                            if got.is_empty() {
                                unresolved.push(format!(
                                    "{}: roa_request without `action: \"…\"` in {}()",
                                    at(i),
                                    f.name
                                ));
                            }
                            got.iter().for_each(|a| add!(&x, a, i));
                        }
                        other => unresolved.push(format!(
                            "{}: roa_request({other:?}, …) not understood",
                            at(i)
                        )),
                    }
                }
                _ => {}
            }
        }
    }
    found.sort();
    found.dedup();
    (found, unresolved)
}

/// Who calls `name(…)` with `Product::X` as argument `k`: (X, the caller's file).
fn product_callers(sources: &[Source], name: &str, k: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in sources {
        let t = &s.toks;
        for i in 0..t.len() {
            if ident(t, i) != Some(name)
                || !is(t, i + 1, &p('('))
                || (i > 0 && ident(t, i - 1) == Some("fn"))
            {
                continue;
            }
            // A method call passes `self` implicitly; free functions count from 0 either way.
            if let Some(x) = args(t, i + 1).get(k).and_then(|a| product_of(a)) {
                out.push((x, s.path.clone()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Each file's `RAM` table: the string literals of `const RAM: &[&str] = &[…];`.
fn ram_tables(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (path, src) in files {
        let t = without_tests(tokenize(src));
        for i in 0..t.len() {
            if ident(&t, i) == Some("const") && ident(&t, i + 1) == Some("RAM") {
                let set: &mut BTreeSet<String> = out.entry(path.clone()).or_default();
                for x in t.iter().skip(i + 2) {
                    match &x.tok {
                        Tok::Punct(';') => break,
                        Tok::Str(a) => {
                            set.insert(a.clone());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// The actions a wrapper `name` is called with (its non-self parameter `k`) in the same file:
/// literals, or the `field:` literals of that file's struct literals for `x.field`.
fn wrapper_actions(
    s: &Source,
    literals: &[(String, Vec<Block>)],
    name: &str,
    k: usize,
) -> Result<Vec<(String, usize)>, String> {
    let t = &s.toks;
    let mut out = Vec::new();
    for i in 0..t.len() {
        if ident(t, i) != Some(name)
            || !is(t, i + 1, &p('('))
            || (i > 0 && ident(t, i - 1) == Some("fn"))
        {
            continue;
        }
        let a = args(t, i + 1);
        let Some(arg) = a.get(k) else {
            return Err(format!(
                "{}:{}: {name}( with too few arguments",
                s.path, t[i].line
            ));
        };
        let func = enclosing(&s.funcs, i);
        match classify(t, arg, func) {
            Expr::Lits(l) => out.extend(l.into_iter().map(|a| (a, i))),
            Expr::Field(base, f) => {
                // `listing.action` with `listing: &Listing`: only `Listing { … }` literals.
                let ty = func.and_then(|func| {
                    let k = func.params.iter().position(|p| *p == base)?;
                    func.types[k].clone()
                });
                let blocks = &literals.iter().find(|(p, _)| p == &s.path).unwrap().1;
                let lits: Vec<String> = blocks
                    .iter()
                    .filter(|b| ty.is_none() || b.name == ty)
                    .filter_map(|b| b.get(&f).and_then(|v| lit(v)))
                    .collect();
                if lits.is_empty() {
                    return Err(format!(
                        "{}:{}: {name}(…{f}…): no `{f}: \"…\"` struct field in this file",
                        s.path, t[i].line
                    ));
                }
                out.extend(lits.into_iter().map(|a| (a, i)));
            }
            other => {
                return Err(format!(
                    "{}:{}: {name}({other:?}, …) not understood",
                    s.path, t[i].line
                ))
            }
        }
    }
    Ok(out)
}

/// RAM service prefix of each `Product` (Alibaba Cloud RAM action namespaces; CAS is
/// `yundun-cert`, API Gateway `apigateway`).
fn ram_prefix(product: &str) -> Option<&'static str> {
    Some(match product {
        "Alidns" => "alidns",
        "Cas" => "yundun-cert",
        "Cdn" => "cdn",
        "Dcdn" => "dcdn",
        "ApiGateway" => "apigateway",
        "Kms" => "kms",
        "Oss" => "oss",
        "Fc" => "fc",
        "Fc2" => "fc",
        "Slb" => "slb",
        "Alb" => "alb",
        "Esa" => "esa",
        "Apig" => "apig",
        "Nlb" => "nlb",
        "Ga" => "ga",
        "Sts" => "sts",
        // RAM codes from each product's "RAM authorization" page (WAF 3.0: `yundun-waf`,
        // Anti-DDoS Pro/Premium: `yundun-ddoscoo`).
        "Waf" => "yundun-waf",
        "Live" => "live",
        "Vod" => "vod",
        "Ddoscoo" => "yundun-ddoscoo",
        "Dm" => "dm",
        "Cms" => "cms",
        "Ram" => "ram",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The documented policies
// ---------------------------------------------------------------------------------------------

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Actions a call needs beyond its own ("associated operations" of the API reference).
const DEPENDENT_ACTIONS: &[(&str, &[&str])] = &[(
    // OSS API reference, PutCname (https://www.alibabacloud.com/help/en/oss/developer-reference/putcname),
    // Permissions: "When mapping a custom domain name to a bucket, if a certificate is
    // attached, these three operation permissions are required."
    "oss:PutCname",
    &[
        "yundun-cert:DescribeSSLCertificatePrivateKey",
        "yundun-cert:DescribeSSLCertificatePublicKeyDetail",
        "yundun-cert:CreateSSLCertificate",
    ],
)];

fn source_calls() -> Vec<Found> {
    let mut paths = Vec::new();
    rust_files(&repo().join("src"), &mut paths);
    paths.sort();
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            (
                p.strip_prefix(repo()).unwrap().display().to_string(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    let (mut found, unresolved) = scan(&files);
    for (call, needs) in DEPENDENT_ACTIONS {
        let sites: Vec<(String, String)> = found
            .iter()
            .filter(|f| f.action == *call)
            .map(|f| (f.at.clone(), f.file.clone()))
            .collect();
        for (site, file) in sites {
            for need in *needs {
                found.push(Found {
                    action: need.to_string(),
                    at: format!("{site} ({call} needs it)"),
                    file: file.clone(),
                });
            }
        }
    }
    found.sort();
    assert!(
        unresolved.is_empty(),
        "tests/policy.rs cannot tell which Alibaba action these call sites call; extend its \
         scanner:\n  {}",
        unresolved.join("\n  ")
    );
    found
}

// ---------------------------------------------------------------------------------------------
// The call tables, and the documents generated from them
// ---------------------------------------------------------------------------------------------

fn src_files() -> Vec<(String, String)> {
    let mut paths = Vec::new();
    rust_files(&repo().join("src"), &mut paths);
    paths.sort();
    paths
        .iter()
        .map(|p| {
            (
                p.strip_prefix(repo()).unwrap().display().to_string(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_call_is_in_its_files_ram_table_and_every_entry_is_called() {
    let calls = source_calls();
    for c in &calls {
        println!("{:<60} {:<40} {}", c.action, c.file, c.at);
    }
    let tables = ram_tables(&src_files());
    let mut failures = Vec::new();
    for c in &calls {
        if !tables.get(&c.file).is_some_and(|t| t.contains(&c.action)) {
            failures.push(format!(
                "{} calls {} but {}'s `const RAM: &[&str]` does not declare it; add it there \
                 (and to the statement that needs it)",
                c.at, c.action, c.file
            ));
        }
    }
    for (file, table) in &tables {
        for a in table {
            if !calls.iter().any(|c| &c.file == file && &c.action == a) {
                failures.push(format!(
                    "{file}: `RAM` declares {a}, which nothing in {file} calls; remove it"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A config using every kind and every optional part: its policy must grant every action of
/// every table (but the credential chain's own AssumeRole, which the source identity needs,
/// not the function's role), so no declared action is left out of all statements.
const EVERYTHING: &str = r#"
[acme]
account_key = "kms:alicert/account"
eab_kid = "kid"
eab_hmac_key = "kms:alicert/eab"
[notify]
webhook = "kms:alicert/webhook"
[notify.mail]
account_name = "alerts@mail.example.com"
to = ["ops@example.com"]
[lock]
bucket = "locks"
[report]
bucket = "reports"
[metrics]
[fanout]
enabled = true
function = "alicert"
[[certificate]]
name = "all"
domains = ["example.com", "*.example.com"]
caa = "manage"
targets = [
  { kind = "cas" },
  { kind = "cdn", domains = "covered" },
  { kind = "dcdn", domains = "covered" },
  { kind = "apigateway", group_id = "523e8dc7bbe04613b5b1d726c2a7889d", domain = "api.example.com" },
  { kind = "slb", load_balancer_id = "lb-1", listener_port = 443 },
  { kind = "alb", listener_id = "lsn-1" },
  { kind = "oss", bucket = "site", domain = "static.example.com" },
  { kind = "fc", domains = "covered" },
  { kind = "oss-bundle", bucket = "bundles", prefix = "certs", p12_password = "kms:p12" },
  { kind = "esa", site_id = 1 },
  { kind = "esa-saas", site_id = 1, domains = "covered" },
  { kind = "waf", domains = "covered" },
  { kind = "waf", mode = "cloud-resource", resource_product = "clb7", resource_instance_id = "lb-2", port = 443 },
  { kind = "live", domains = "covered" },
  { kind = "vod", domains = "covered" },
  { kind = "ddos", domains = "covered" },
  { kind = "apig", domains = "covered" },
  { kind = "nlb", listener_id = "lsn-2" },
  { kind = "ga", listener_id = "lsn-3" },
  { kind = "cas-deploy", resource_ids = [1] },
  { kind = "fc2", domains = "covered" },
]
"#;

#[test]
fn a_config_using_everything_grants_every_declared_action() {
    let config = alicert::config::Config::parse(EVERYTHING, "everything.toml").unwrap();
    let policy = alicert::policy::Policy::for_config(&config).unwrap();
    let granted: BTreeSet<&str> = policy
        .statements
        .iter()
        .flat_map(|s| s.actions.iter().copied())
        .collect();
    let tables = ram_tables(&src_files());
    let missing: Vec<String> = tables
        .iter()
        .flat_map(|(f, t)| t.iter().map(move |a| (f, a)))
        // The credential chain's AssumeRole is the source identity's; scan's listings are the
        // caller's (the function never scans on its timer).
        .filter(|(f, a)| {
            !granted.contains(a.as_str())
                && !f.starts_with("src/aliyun/credentials/")
                && !f.starts_with("src/scan/listing/")
        })
        .map(|(f, a)| format!("{a} ({f})"))
        .collect();
    assert!(
        missing.is_empty(),
        "declared but in no statement of `alicert policy` for a config using everything: {missing:?}"
    );
    // Every statement has a purpose and at least one action and resource.
    for s in &policy.statements {
        assert!(!s.purpose.is_empty() && !s.actions.is_empty() && !s.resources.is_empty());
    }
}

const BEGIN: &str = "BEGIN generated policy";
const END: &str = "END generated policy";
const REGENERATE: &str =
    "make policy  (= ALICERT_REGENERATE_POLICY=1 cargo test --test policy documented)";

/// `text` with what lies between the lines holding the markers replaced by `block`.
fn between_markers(text: &str, file: &str, block: &str) -> (String, String) {
    let start = text
        .find(BEGIN)
        .and_then(|i| text[i..].find('\n').map(|j| i + j + 1))
        .unwrap_or_else(|| panic!("{file} has no `{BEGIN}` marker line"));
    let end = text[start..]
        .find(END)
        .map(|i| start + text[start..i + start].rfind('\n').map_or(0, |j| j + 1))
        .unwrap_or_else(|| panic!("{file} has no `{END}` marker line"));
    let now = text[start..end].to_string();
    let updated = format!("{}{block}{}", &text[..start], &text[end..]);
    (now, updated)
}

fn line_diff(want: &str, have: &str) -> String {
    let (w, h): (Vec<&str>, Vec<&str>) = (want.lines().collect(), have.lines().collect());
    let mut out = String::new();
    for i in 0..w.len().max(h.len()) {
        match (w.get(i), h.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                out.push_str(&format!(
                    "line {}:\n  - {}\n  + {}\n",
                    i + 1,
                    b.unwrap_or(&""),
                    a.unwrap_or(&"")
                ));
            }
        }
    }
    out
}

#[test]
fn documented_policies_are_alicert_policy_for_the_example_config() {
    let config = alicert::config::Config::parse(
        &std::fs::read_to_string(repo().join("alicert.example.toml")).unwrap(),
        "alicert.example.toml",
    )
    .unwrap();
    let policy = alicert::policy::Policy::for_config(&config).unwrap();
    let readme_block = format!(
        "```json\n{}\n```\n\nWhat each statement is for (RAM's policy grammar has no `Sid` element, so \
         the purposes are listed here, in order; `alicert policy` prints them on stderr):\n\n{}",
        policy.to_json_text(),
        policy.purposes()
    );
    let template_block = policy.to_yaml_statements(14);
    let regenerate = std::env::var_os("ALICERT_REGENERATE_POLICY").is_some();
    let mut failures = String::new();
    for (file, block) in [
        ("README.md", &readme_block),
        ("template.yml", &template_block),
    ] {
        let path = repo().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (now, updated) = between_markers(&text, file, block);
        if &now == block {
            continue;
        }
        if regenerate {
            std::fs::write(&path, updated).unwrap();
        } else {
            failures.push_str(&format!(
                "{file}'s generated policy differs from `alicert policy --config \
                 alicert.example.toml` (- now, + generated):\n{}\n",
                line_diff(block, &now)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}Regenerate with: {REGENERATE}"
    );
}

#[test]
fn the_scan_finds_calls_of_every_shape_in_src() {
    let calls: BTreeSet<String> = source_calls().into_iter().map(|c| c.action).collect();
    // One per way of calling (direct, wrapper + table, let binding, field table, ROA request,
    // OSS request and helpers): if one disappears, the scanner (or the code) changed shape.
    for want in [
        "alidns:DescribeDomains",
        "alidns:UpdateDomainRecordRemark",
        "alidns:DescribeDomainRecords",
        "yundun-cert:UploadUserCertificate",
        "cdn:SetCdnDomainSSLCertificate",
        "dcdn:DescribeDcdnDomainCertificateInfo",
        "alb:AssociateAdditionalCertificatesWithListener",
        "alb:UpdateListenerAttribute",
        "fc:InvokeFunction",
        "fc:UpdateCustomDomain",
        "oss:PutCname",
        "oss:GetObject",
        "oss:DeleteObject",
        "kms:CreateSecret",
    ] {
        assert!(calls.contains(want), "{want} not found in src/: {calls:?}");
    }
}

#[test]
fn the_scanner_understands_each_shape_and_reports_what_it_cannot() {
    let src = r##"
        // c.rpc(Product::Cdn, "InAComment", &[]) is not a call
        /* neither is c.rpc(Product::Cdn, "InABlock", &[]) */
        const S: &str = r#"c.rpc(Product::Cdn, "InARawString", &[])"#;
        struct Api { product: Product, set: &'static str }
        const A: Api = Api { product: Product::Dcdn, set: "SetA" };
        struct Listing { action: &'static str }
        const L: Listing = Listing { action: "ListB" };
        impl X {
            async fn direct(&self) {
                self.client.rpc(Product::Slb, "Direct", &[('a', "b")]).await;
                self.client
                    .rpc_with_form(
                        Product::Kms,
                        "Multiline",
                        &[],
                        &[],
                    )
                    .await;
            }
            async fn table(&self) { self.client.rpc(self.api.product, self.api.set, &[]); }
            async fn bound<'a>(&'a self) {
                let action = if self.x { "BoundA" } else { "BoundB" };
                self.client.rpc(Product::Alb, action, &[]);
            }
            async fn call(&self, action: &str, params: &[(&str, &str)]) {
                self.client.rpc(Product::Alidns, action, params).await
            }
            async fn users(&self, listing: &Listing) {
                self.call("Wrapped", &[]);
                self.call(listing.action, &[]);
            }
            async fn roa(&self) {
                let r = RoaRequest { action: "Roa", method: "POST" };
                client.roa_request(Product::Fc, &r).await;
                c.oss_get(b, k);
                OssRequest::bucket("PutCname", "POST", b);
            }
            pub async fn rpc(&self, product: Product, action: &str) {
                self.rpc_with_form(product, action, &[], &[]).await
            }
        }
        #[cfg(test)]
        mod tests {
            fn t() { c.rpc(Product::Cdn, "InTests", &[]); }
        }
    "##;
    let (found, unresolved) = scan(&[("x.rs".into(), src.into())]);
    let actions: Vec<&str> = found.iter().map(|f| f.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "alb:BoundA",
            "alb:BoundB",
            "alidns:ListB",
            "alidns:Wrapped",
            "dcdn:SetA",
            "fc:Roa",
            "kms:Multiline",
            "oss:GetObject",
            "oss:PutCname",
            "slb:Direct",
        ]
    );
    assert!(unresolved.is_empty(), "{unresolved:?}");
    assert_eq!(
        found
            .iter()
            .find(|f| f.action == "kms:Multiline")
            .unwrap()
            .at,
        "x.rs:13"
    );

    // What it cannot tell is reported with its place, never skipped.
    let odd = "fn f(&self) { self.c.rpc(Product::Cdn, names[0], &[]); self.c.rpc(Product::Vpc, \"X\", &[]); }";
    let (found, unresolved) = scan(&[("odd.rs".into(), odd.into())]);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(unresolved.len(), 2, "{unresolved:?}");
    assert!(
        unresolved.iter().all(|u| u.starts_with("odd.rs:1")),
        "{unresolved:?}"
    );
}
