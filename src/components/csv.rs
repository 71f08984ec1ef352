//! The two ways in for recipients: a CSV file, or text pasted in. A plain
//! multipart form's fields (`csv_file`, `csv_text`), read by
//! `mailmerge::ssr::upload`; and the table of rows a report leaves out.

use crate::mailmerge::BadRowView;
use leptos::prelude::*;

/// `key` keeps two of these on one page apart (their ids).
#[component]
pub fn CsvFields(
    key: &'static str,
    file_label: &'static str,
    #[prop(into)] hint: String,
    paste_label: &'static str,
    #[prop(default = 8)] rows: u32,
    #[prop(default = "email,first_name,company\nada@example.com,Ada,Analytical Engines")]
    placeholder: &'static str,
) -> impl IntoView {
    let file_id = format!("field-{key}_file");
    let hint_id = format!("{file_id}-hint");
    let text_id = format!("field-{key}_text");
    view! {
        <div class="field">
            <label for=file_id.clone()>{file_label}</label>
            <p class="hint" id=hint_id.clone()>{hint}</p>
            <input id=file_id type="file" name="csv_file" accept=".csv,text/csv,text/plain"
                aria-describedby=hint_id />
        </div>
        <div class="field">
            <label for=text_id.clone()>{paste_label}</label>
            <textarea id=text_id name="csv_text" rows=rows class=if rows < 6 { "mono short" } else { "mono" }
                placeholder=placeholder></textarea>
        </div>
    }
}

/// The rows with problems of a CSV report.
#[component]
pub fn BadRows(bad: Vec<BadRowView>) -> impl IntoView {
    (!bad.is_empty()).then(|| {
        view! {
            <div class="table-wrap">
                <table class="list bad-rows">
                    <caption class="visually-hidden">"Rows with problems"</caption>
                    <thead><tr><th scope="col">"Line"</th><th scope="col">"Address"</th><th scope="col">"Problem"</th></tr></thead>
                    <tbody>
                        {bad.iter().map(|b| view! {
                            <tr><td>{b.line}</td><td class="mono">{b.address.clone()}</td><td>{b.reason.clone()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
    })
}
