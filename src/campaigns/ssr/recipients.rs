//! A campaign's recipients from its CSV: the merge's row checks (address,
//! duplicates, suppression, every placeholder of step 1), and the campaign's own:
//! a time-zone cell that names no zone is a bad row (never a silent UTC), an
//! address already in another running campaign of the user is left out, and
//! every later step must fill in for the row too.

use crate::domain::{EmailAddress, UserId};
use crate::mailmerge::BadRowView;
use crate::merge::plan::{RowRules, each_row, fill};
use crate::merge::recipients::Table;
use crate::merge::render::{MessageTemplate, Rendered};
use crate::unsubscribe::ssr::links::{Links, Unsubscribe};
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A row that becomes a recipient, with step 1 rendered for it.
pub struct Ready {
    pub line: u64,
    pub to: EmailAddress,
    pub values: BTreeMap<String, String>,
    /// The zone its cell names; `None`: the sender's.
    pub time_zone: Option<String>,
    pub message: Rendered,
    pub list_unsubscribe: Option<String>,
}

#[derive(Default)]
pub struct Evaluated {
    pub ready: Vec<Ready>,
    pub bad: Vec<BadRowView>,
}

/// What the rows are checked against.
pub struct Against<'a> {
    pub email_column: &'a str,
    pub zone_column: Option<&'a str>,
    /// Step 1 first.
    pub steps: &'a [MessageTemplate],
    /// Lowercased addresses on the suppression list, each with why.
    pub suppressed: &'a HashMap<String, String>,
    /// Lowercased addresses with a sequence open in another campaign.
    pub elsewhere: &'a HashSet<String>,
    /// Lowercased addresses this campaign has already (rows added later).
    pub here: &'a HashSet<String>,
    pub links: &'a Links,
    pub user_id: UserId,
    pub footer: bool,
}

/// A recipient's zone from its cell, or why the cell is refused.
pub fn zone_of(cell: Option<&str>) -> Result<Option<String>, String> {
    match cell.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(name) => match TimeZone::get(name) {
            Ok(_) => Ok(Some(name.to_string())),
            Err(_) => Err(format!(
                "\u{201c}{name}\u{201d} is not a time zone. Use a name such as Europe/Berlin or America/New_York, or leave the cell empty for yours."
            )),
        },
    }
}

/// Checks every row; renders step 1 of each ready one (with the footer and
/// `List-Unsubscribe` when asked for) and checks that every later step fills
/// in for it.
pub fn evaluate(table: &Table, against: &Against<'_>) -> Evaluated {
    let mut out = Evaluated::default();
    let Some(first) = against.steps.first() else {
        return out;
    };
    let link = |a: &EmailAddress| against.links.url(against.user_id, a);
    let rules = RowRules {
        attaching: None,
        suppressed: Some(against.suppressed),
        unsubscribe_url: Some(&link),
    };
    each_row(table, first, against.email_column, &rules, |row| {
        let bad = |line: u64, address: String, reason: String| BadRowView {
            line,
            address,
            reason,
        };
        let mut ready = match row {
            Ok(ready) => ready,
            Err(b) => {
                out.bad.push(bad(b.line, b.address, b.reason));
                return true;
            }
        };
        let address = ready.to.to_string();
        let zone = zone_of(
            against
                .zone_column
                .and_then(|c| ready.values.get(c))
                .map(String::as_str),
        );
        let zone = match zone {
            Ok(z) => z,
            Err(reason) => {
                out.bad.push(bad(ready.line, address, reason));
                return true;
            }
        };
        if against.here.contains(&ready.to.normalized()) {
            out.bad.push(bad(
                ready.line,
                address.clone(),
                format!("{address} is in this campaign already; it is left out."),
            ));
            return true;
        }
        if against.elsewhere.contains(&ready.to.normalized()) {
            out.bad.push(bad(
                ready.line,
                address.clone(),
                format!("{address} is in another running campaign of yours; it is left out."),
            ));
            return true;
        }
        let url = ready.unsubscribe_url.clone();
        for (i, later) in against.steps.iter().enumerate().skip(1) {
            let values = ready.values.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            if let Err(reason) = fill(later, values, url.as_deref()) {
                out.bad.push(bad(
                    ready.line,
                    address.clone(),
                    format!("Step {}: {reason}", i + 1),
                ));
                return true;
            }
        }
        let list_unsubscribe = url.and_then(|url| {
            Unsubscribe::apply(against.links, url, true, against.footer, &mut ready.message)
        });
        out.ready.push(Ready {
            line: ready.line,
            to: ready.to,
            values: ready.values,
            time_zone: zone,
            message: ready.message,
            list_unsubscribe,
        });
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::recipients::{Limits, parse};
    use uuid::Uuid;

    #[test]
    fn bad_zones_other_campaigns_and_later_steps_are_bad_rows() {
        let table = parse(
            "email,name,tz,company\n\
             a@x.io,Ada,Asia/Tokyo,ACME\n\
             b@x.io,Bob,Mars/Base,ACME\n\
             c@x.io,Cy,,\n\
             d@x.io,Di,,Initech\n\
             e@x.io,Ed,Europe/Berlin,Widgets\n\
             f@x.io,Fi,,ACME\n"
                .as_bytes(),
            Limits::default(),
        )
        .unwrap();
        let steps = [
            MessageTemplate::compile("Hi {{ name }}", "Hello {{ name }}", "Hello {{ name }}")
                .unwrap(),
            MessageTemplate::compile("x", "How is {{ company }}?", "How is {{ company }}?")
                .unwrap(),
        ];
        let links = Links::new(
            &secrecy::SecretBox::new(Box::new([7u8; 32])),
            None,
            "http://localhost:3000",
        );
        let suppressed = HashMap::new();
        let elsewhere = HashSet::from(["d@x.io".to_string()]);
        let out = evaluate(
            &table,
            &Against {
                email_column: "email",
                zone_column: Some("tz"),
                steps: &steps,
                suppressed: &suppressed,
                elsewhere: &elsewhere,
                here: &HashSet::from(["f@x.io".to_string()]),
                links: &links,
                user_id: UserId::from_uuid(Uuid::nil()),
                footer: false,
            },
        );
        let ready: Vec<(&str, Option<&str>)> = out
            .ready
            .iter()
            .map(|r| (r.to.as_str(), r.time_zone.as_deref()))
            .collect();
        assert_eq!(
            ready,
            [
                ("a@x.io", Some("Asia/Tokyo")),
                ("e@x.io", Some("Europe/Berlin"))
            ]
        );
        assert_eq!(out.ready[0].message.subject, "Hi Ada");
        let bad: Vec<(u64, &str)> = out
            .bad
            .iter()
            .map(|b| (b.line, b.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 4);
        assert_eq!(
            bad[3],
            (7, "f@x.io is in this campaign already; it is left out.")
        );
        assert_eq!(bad[0].0, 3);
        assert!(
            bad[0]
                .1
                .contains("\u{201c}Mars/Base\u{201d} is not a time zone")
        );
        assert_eq!(
            bad[1],
            (
                4,
                "Step 2: No value for {{ company }}, and it has no default."
            )
        );
        assert_eq!(
            bad[2],
            (
                5,
                "d@x.io is in another running campaign of yours; it is left out."
            )
        );
    }
}
