//! A merge plan: every CSV row checked and rendered before anything is queued.
//!
//! A row is ready when its address is valid, not already used by an earlier row,
//! and every placeholder without a fallback has a value. Everything else is a bad
//! row with its line number and a reason a person understands.

use super::recipients::{Row, Table};
use super::render::{MessageTemplate, RenderError, Rendered};
use crate::domain::EmailAddress;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyRow {
    pub line: u64,
    pub to: EmailAddress,
    pub message: Rendered,
    /// The row's values, kept with the message so it can be edited later.
    pub values: std::collections::BTreeMap<String, String>,
    /// The file its attachment column names (id and name).
    pub attachment: Option<(Uuid, String)>,
    /// The recipient's unsubscribe link, as `{{ unsubscribe_url }}` rendered.
    pub unsubscribe_url: Option<String>,
}

/// What each row is checked against besides the template.
#[derive(Default)]
pub struct RowRules<'a> {
    /// A column naming one of the user's files per row.
    pub attaching: Option<Attaching<'a>>,
    /// Lowercased addresses that get no mail, each with why.
    pub suppressed: Option<&'a HashMap<String, String>>,
    /// The recipient's unsubscribe link: `{{ unsubscribe_url }}`.
    pub unsubscribe_url: Option<&'a (dyn Fn(&EmailAddress) -> String + Sync)>,
}

/// A column that names one of the user's files for each row.
pub struct Attaching<'a> {
    pub column: &'a str,
    /// The user's attachments by lower-case name: id, name and size.
    pub files: &'a HashMap<String, (Uuid, String, u64)>,
    /// Bytes of files every message attaches already.
    pub shared_bytes: u64,
    /// The most a message's files may add up to.
    pub max_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    /// The address as written in the row, if any.
    pub address: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub ready: Vec<ReadyRow>,
    pub bad: Vec<BadRow>,
}

/// Checks and renders every row of `table` with `template`, taking each
/// recipient's address from `email_column`.
pub fn plan(table: &Table, template: &MessageTemplate, email_column: &str) -> Plan {
    plan_with(table, template, email_column, &RowRules::default())
}

/// `plan`, with each row also checked against `rules`.
pub fn plan_with(
    table: &Table,
    template: &MessageTemplate,
    email_column: &str,
    rules: &RowRules<'_>,
) -> Plan {
    let mut plan = Plan::default();
    each_row(table, template, email_column, rules, |row| {
        match row {
            Ok(ready) => plan.ready.push(ready),
            Err(bad) => plan.bad.push(bad),
        }
        true
    });
    plan
}

/// Checks and renders the rows one at a time, handing each to `each` and
/// keeping none, so a caller holds only what it needs (a count, one preview, a
/// batch to insert). Stops early when `each` answers false.
pub fn each_row(
    table: &Table,
    template: &MessageTemplate,
    email_column: &str,
    rules: &RowRules<'_>,
    mut each: impl FnMut(Result<ReadyRow, BadRow>) -> bool,
) {
    let mut seen: HashSet<String> = HashSet::with_capacity(table.rows.len());
    for row in &table.rows {
        let result =
            check(row, template, email_column, rules, &mut seen).map_err(|reason| BadRow {
                line: row.line,
                address: row.get(email_column).unwrap_or("").to_string(),
                reason,
            });
        if !each(result) {
            return;
        }
    }
}

fn check(
    row: &Row,
    template: &MessageTemplate,
    email_column: &str,
    rules: &RowRules<'_>,
    seen: &mut HashSet<String>,
) -> Result<ReadyRow, String> {
    if row.is_empty() {
        return Err("The row is empty.".into());
    }
    if row.extra_cells > 0 {
        return Err(
            "The row has more cells than the header has columns. Check for an unquoted comma."
                .into(),
        );
    }
    let raw = row
        .get(email_column)
        .ok_or("The row has no email address.")?;
    let to =
        EmailAddress::parse(raw).map_err(|_| format!("\"{raw}\" is not a valid email address."))?;
    if seen.contains(&to.normalized()) {
        return Err(format!(
            "{to} appears more than once; it is kept once, at its first row."
        ));
    }
    if let Some(why) = rules.suppressed.and_then(|s| s.get(&to.normalized())) {
        return Err(format!("{why} It is left out."));
    }
    let unsubscribe_url = rules.unsubscribe_url.map(|url| url(&to));
    let message = fill(template, row.values(), unsubscribe_url.as_deref())?;
    let attachment = match &rules.attaching {
        Some(a) => attachment_of(row, a)?,
        None => None,
    };
    seen.insert(to.normalized());
    Ok(ReadyRow {
        line: row.line,
        to,
        message,
        values: row.to_map(),
        attachment,
        unsubscribe_url,
    })
}

/// Renders `template` with a row's values (a column named like a built-in
/// placeholder does not stand in for it) and the recipient's unsubscribe link,
/// saying in words what is missing.
pub fn fill<'v>(
    template: &MessageTemplate,
    values: impl Iterator<Item = (&'v str, &'v str)>,
    unsubscribe_url: Option<&'v str>,
) -> Result<Rendered, String> {
    let mut values: Vec<(&str, &str)> = values
        .filter(|(k, _)| !super::scan::BUILT_IN.contains(k))
        .collect();
    if let Some(url) = unsubscribe_url {
        values.push((super::scan::UNSUBSCRIBE_URL, url));
    }
    let message = template.render_pairs(values).map_err(|e| match e {
        RenderError::Missing { key } => {
            format!("No value for {{{{ {key} }}}}, and it has no default.")
        }
        other => other.to_string(),
    })?;
    if message.subject.contains(['\r', '\n']) {
        return Err("The subject would contain a line break.".into());
    }
    Ok(message)
}

fn attachment_of(row: &Row, a: &Attaching<'_>) -> Result<Option<(Uuid, String)>, String> {
    let name = row.get(a.column).unwrap_or("").trim();
    if name.is_empty() {
        return Ok(None);
    }
    let Some((id, file_name, size)) = a.files.get(&name.to_lowercase()) else {
        return Err(format!(
            "No attachment is called “{name}”. Upload it on the Files page, or correct the name."
        ));
    };
    if a.shared_bytes + size > a.max_bytes {
        return Err(format!(
            "With “{file_name}” this message's files would be over Gmail's limit of {} MB.",
            a.max_bytes / (1024 * 1024)
        ));
    }
    Ok(Some((*id, file_name.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::recipients::{Limits, parse};

    fn plan_for(csv: &str, html: &str) -> Plan {
        let table = parse(csv.as_bytes(), Limits::default()).unwrap();
        let template = MessageTemplate::compile("Hi {{ first_name }}", html, html).unwrap();
        plan(&table, &template, table.email_column().unwrap())
    }

    #[test]
    fn good_rows_are_rendered_and_bad_rows_say_why() {
        let p = plan_for(
            "Email,First Name,Company\n\
             ada@example.com,Ada,ACME\n\
             not-an-address,Bob,Widgets\n\
             carol@example.com,,Initech\n\
             ,,\n\
             ADA@example.com,Ada again,ACME\n\
             dan@example.com,Dan\n",
            "{{ first_name }} at {{ company | default(\"your company\") }}",
        );
        let ready: Vec<(u64, &str, &str)> = p
            .ready
            .iter()
            .map(|r| (r.line, r.to.as_str(), r.message.html.as_str()))
            .collect();
        assert_eq!(
            ready,
            [
                (2, "ada@example.com", "Ada at ACME"),
                (7, "dan@example.com", "Dan at your company")
            ]
        );
        assert_eq!(p.ready[0].message.subject, "Hi Ada");
        let bad: Vec<(u64, &str)> = p.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            bad,
            [
                (3, "\"not-an-address\" is not a valid email address."),
                (4, "No value for {{ first_name }}, and it has no default."),
                (5, "The row is empty."),
                (
                    6,
                    "ADA@example.com appears more than once; it is kept once, at its first row."
                ),
            ]
        );
    }

    #[test]
    fn an_attachment_column_names_the_users_files() {
        let table = parse(
            "email,first_name,attachment\n\
             a@x.io,Ada,Portfolio.PDF\n\
             b@x.io,Bob,missing.pdf\n\
             c@x.io,Cy,\n\
             b@x.io,Bob again,big.pdf\n"
                .as_bytes(),
            Limits::default(),
        )
        .unwrap();
        let template = MessageTemplate::compile("Hi {{ first_name }}", "x", "x").unwrap();
        let portfolio = Uuid::now_v7();
        let big = Uuid::now_v7();
        let files = HashMap::from([
            (
                "portfolio.pdf".to_string(),
                (portfolio, "portfolio.pdf".to_string(), 1_000),
            ),
            (
                "big.pdf".to_string(),
                (big, "big.pdf".to_string(), 20 << 20),
            ),
        ]);
        let attaching = Attaching {
            column: "attachment",
            files: &files,
            shared_bytes: 6 << 20,
            max_bytes: 25 << 20,
        };
        let rules = RowRules {
            attaching: Some(attaching),
            ..RowRules::default()
        };
        let p = plan_with(&table, &template, "email", &rules);
        let ready: Vec<(u64, Option<Uuid>)> = p
            .ready
            .iter()
            .map(|r| (r.line, r.attachment.as_ref().map(|a| a.0)))
            .collect();
        assert_eq!(ready, [(2, Some(portfolio)), (4, None)]);
        let bad: Vec<(u64, &str)> = p.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            bad,
            [
                (
                    3,
                    "No attachment is called “missing.pdf”. Upload it on the Files page, or correct the name."
                ),
                (
                    5,
                    "With “big.pdf” this message's files would be over Gmail's limit of 25 MB."
                ),
            ]
        );
    }

    #[test]
    fn rows_with_extra_cells_are_reported() {
        let p = plan_for("email,first_name\na@x.io,Ada,oops\n", "x");
        assert_eq!(p.bad[0].line, 2);
        assert!(p.bad[0].reason.contains("more cells"));
    }

    #[test]
    fn suppressed_addresses_are_left_out_and_each_row_gets_its_own_link() {
        let table = parse(
            "email,first_name\nAda@X.io,Ada\nbob@x.io,Bob\n".as_bytes(),
            Limits::default(),
        )
        .unwrap();
        let template = MessageTemplate::compile(
            "Hi {{ first_name }}",
            "Stop: {{ unsubscribe_url }}",
            "Unsubscribe: {{ unsubscribe_url }}",
        )
        .unwrap();
        let suppressed = HashMap::from([(
            "ada@x.io".to_string(),
            "ada@x.io unsubscribed on 1 Dec 2026.".to_string(),
        )]);
        let link = |a: &EmailAddress| format!("https://x.example/u/{}", a.normalized());
        let rules = RowRules {
            suppressed: Some(&suppressed),
            unsubscribe_url: Some(&link),
            ..RowRules::default()
        };
        let p = plan_with(&table, &template, "email", &rules);
        assert_eq!(p.bad.len(), 1);
        assert_eq!(p.bad[0].line, 2);
        assert_eq!(
            p.bad[0].reason,
            "ada@x.io unsubscribed on 1 Dec 2026. It is left out."
        );
        assert_eq!(p.ready.len(), 1);
        let bob = &p.ready[0];
        assert_eq!(
            bob.unsubscribe_url.as_deref(),
            Some("https://x.example/u/bob@x.io")
        );
        assert_eq!(
            bob.message.html,
            "Stop: <a href=\"https://x.example/u/bob@x.io\">https://x.example/u/bob@x.io</a>"
        );
        assert_eq!(
            bob.message.text,
            "Unsubscribe: https://x.example/u/bob@x.io"
        );
        // The link is not one of the row's values.
        assert!(!bob.values.contains_key("unsubscribe_url"));
    }
}
