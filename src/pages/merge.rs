//! Mail merge: upload or paste recipients, check every row, preview any row, queue.

use crate::components::attach::AttachField;
use crate::components::csv::{BadRows, CsvFields};
use crate::components::form::{FormAlert, Missing, WhenField, action_error, field_error, loaded};
use crate::components::paging::param;
use crate::components::preview::UnsubscribeHeaders;
use crate::components::shell::AppShell;
use crate::mailmerge::{MergeReport, QueueMerge, get_merge_report};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

#[component]
pub fn MergePage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    view! {
        <AppShell title="Mail merge">
            <p class="lead-text">
                "Send one personal message per row of a CSV file. The first row names the columns, one of them holds the email addresses, and the others fill your template's placeholders."
            </p>
            {move || error().map(|e| view! { <div class="alert" role="alert">{e}</div> })}
            <form class="stack panel" method="post" action="/api/merge/upload" enctype="multipart/form-data">
                <CsvFields key="csv" file_label="CSV file"
                    hint="UTF-8; comma, semicolon or tab separated; up to 10,000 rows or 5 MB."
                    paste_label="Or paste your recipients" />
                <div class="form-actions">
                    <button type="submit" class="primary">"Check recipients"</button>
                </div>
            </form>
        </AppShell>
    }
}

#[component]
pub fn MergeReportPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            param::<Uuid>(&params.read(), "id"),
            param::<Uuid>(&q, "template_id"),
            q.get("email_column").filter(|c| !c.is_empty()),
            param::<u64>(&q, "line"),
            // Absent: pick a column called "attachment"; empty: none.
            q.get("attachment_column"),
            q.get_all("attach")
                .unwrap_or_default()
                .iter()
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect::<Vec<_>>(),
            q.get("unsubscribe_footer").is_some(),
        )
    };
    let report = crate::components::data::load(
        key,
        |(id, template_id, column, line, attachment_column, attach, footer)| async move {
            match id {
                Some(id) => {
                    get_merge_report(
                        id,
                        template_id,
                        column,
                        line,
                        attachment_column,
                        attach,
                        footer,
                    )
                    .await
                }
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <AppShell title="Mail merge">
            {loaded(
                report,
                "Checking every row…",
                Missing {
                    not_found: "There is no such import. Upload your file again.",
                    back_href: "/merge",
                    back_label: "Start a mail merge",
                },
                |report| view! { <Report report /> },
            )}
        </AppShell>
    }
}

#[component]
fn Report(report: MergeReport) -> impl IntoView {
    let rows = report.ready + report.bad.len();
    let import_id = report.import_id.to_string();
    let template_value = report
        .template_id
        .map(|t| t.to_string())
        .unwrap_or_default();
    let column_value = report.email_column.clone().unwrap_or_default();
    view! {
        <p class="lead-text">
            <strong>{report.file_name.clone()}</strong>
            {format!(": {} columns ({})", report.columns.len(), report.columns.join(", "))}
        </p>
        <form method="get" class="panel setup">
            <div class="field">
                <label for="field-template_id">"Template"</label>
                <select id="field-template_id" name="template_id">
                    <option value="" selected=report.template_id.is_none()>"Choose a template"</option>
                    {report
                        .templates
                        .iter()
                        .map(|t| {
                            view! { <option value=t.id.to_string() selected=report.template_id == Some(t.id)>{t.name.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="field-email_column">"Email column"</label>
                <select id="field-email_column" name="email_column">
                    {report
                        .columns
                        .iter()
                        .map(|c| view! { <option value=c.clone() selected=report.email_column.as_deref() == Some(c)>{c.clone()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="field-attachment_column">"Attachment column"</label>
                <select id="field-attachment_column" name="attachment_column">
                    <option value="" selected=report.attachment_column.is_none()>"None"</option>
                    {report
                        .columns
                        .iter()
                        .map(|c| view! { <option value=c.clone() selected=report.attachment_column.as_deref() == Some(c)>{c.clone()}</option> })
                        .collect_view()}
                </select>
                <p class="hint">"Optional: a column naming one of your files for each row."</p>
            </div>
            <AttachField files=report.files.clone() chosen=report.attach.clone() error=Signal::derive(|| None::<String>)
                indexed=false legend="Files for every message" />
            <div class="field">
                <div class="choice">
                    <input type="checkbox" id="field-unsubscribe_footer" name="unsubscribe_footer" value="1"
                        checked=report.unsubscribe_footer />
                    <label for="field-unsubscribe_footer">"Add an unsubscribe footer"</label>
                </div>
                <p class="hint">
                    {if report.one_click {
                        "A line with each recipient’s unsubscribe link, and the headers that let mail programs show an Unsubscribe button."
                    } else {
                        "A line with each recipient’s unsubscribe link. One-click unsubscribe headers are not added: they need MailMerger on https (APP_BASE_URL)."
                    }}
                </p>
            </div>
            <div class="form-actions">
                <button type="submit">"Check recipients"</button>
            </div>
        </form>
        {report.problem.clone().map(|p| view! { <div class="notice" role="status">{p}</div> })}
        {(report.problem.is_none())
            .then(|| {
                view! {
                    <section class="panel" aria-labelledby="report-heading">
                        <h2 id="report-heading">"Report"</h2>
                        <p class="summary" role="status">
                            <span class="ok-count">{format!("{} of {rows} rows ready", report.ready)}</span>
                            {(!report.bad.is_empty())
                                .then(|| view! { <span class="bad-count">{format!(", {} with problems (not queued)", report.bad.len())}</span> })}
                        </p>
                        <BadRows bad=report.bad.clone() />
                    </section>
                    <Preview report=report.clone() />
                    <QueueForm
                        ready=report.ready
                        submission=report.submission
                        time_zone=report.time_zone.clone()
                        attachment_column=report.attachment_column.clone()
                        attach=report.attach.clone()
                        unsubscribe_footer=report.unsubscribe_footer
                        import_id=import_id.clone()
                        template_value=template_value.clone()
                        column_value=column_value.clone()
                    />
                }
            })}
    }
}

#[component]
fn Preview(report: MergeReport) -> impl IntoView {
    let Some(preview) = report.preview.clone() else {
        return ().into_any();
    };
    let template = report
        .template_id
        .map(|t| t.to_string())
        .unwrap_or_default();
    let column = report.email_column.clone().unwrap_or_default();
    view! {
        <section class="panel" aria-labelledby="preview-heading">
            <h2 id="preview-heading">"Preview"</h2>
            <form method="get" class="inline-form">
                <input type="hidden" name="template_id" value=template />
                <input type="hidden" name="email_column" value=column />
                <input type="hidden" name="attachment_column" value=report.attachment_column.clone().unwrap_or_default() />
                {report.attach.iter().map(|id| view! { <input type="hidden" name="attach" value=id.to_string() /> }).collect_view()}
                {report.unsubscribe_footer.then(|| view! { <input type="hidden" name="unsubscribe_footer" value="1" /> })}
                <div class="field">
                    <label for="field-line">"Row to preview"</label>
                    <select id="field-line" name="line">
                        {report
                            .ready_lines
                            .iter()
                            .map(|(line, to)| view! { <option value=line.to_string() selected=*line == preview.line>{format!("Line {line}: {to}")}</option> })
                            .collect_view()}
                    </select>
                </div>
                <button type="submit">"Show this row"</button>
            </form>
            <article class="email-preview" aria-label="Message preview">
                <dl class="headers">
                    <dt>"From"</dt><dd>{report.from_name.clone()}</dd>
                    <dt>"To"</dt><dd class="mono">{preview.to.clone()}</dd>
                    <dt>"Subject"</dt><dd class="subject">{preview.subject.clone()}</dd>
                    {(!preview.attachments.is_empty()).then(|| view! {
                        <dt>"Attached"</dt><dd>{preview.attachments.join(", ")}</dd>
                    })}
                    <UnsubscribeHeaders url=preview.list_unsubscribe.clone() />
                </dl>
                // Sanitised when the template was saved; values are HTML-escaped.
                <div class="body" inner_html=preview.html.clone()></div>
                <details>
                    <summary>"Plain-text version"</summary>
                    <pre class="text-part">{preview.text.clone()}</pre>
                </details>
            </article>
        </section>
    }
    .into_any()
}

/// An island: a refusal shows next to its field and keeps what was typed.
#[island]
fn QueueForm(
    ready: usize,
    submission: Uuid,
    time_zone: String,
    attachment_column: Option<String>,
    attach: Vec<Uuid>,
    unsubscribe_footer: bool,
    import_id: String,
    template_value: String,
    column_value: String,
) -> impl IntoView {
    let action = ServerAction::<QueueMerge>::new();
    let error = action_error(action);
    let pending = action.pending();
    let cc_error = field_error(error, "cc");
    let bcc_error = field_error(error, "bcc");
    let column_error = field_error(error, "email_column");
    let attach_error = field_error(error, "attach");
    if ready == 0 {
        return view! { <p class="notice">"No row is ready yet, so there is nothing to queue."</p> }.into_any();
    }
    view! {
        <section class="panel" aria-labelledby="queue-heading">
            <h2 id="queue-heading">"Queue"</h2>
            <ActionForm action attr:novalidate=true attr:class="stack">
                <FormAlert error />
                <input type="hidden" name="merge[import_id]" value=import_id />
                <input type="hidden" name="merge[submission]" value=submission.to_string() />
                <input type="hidden" name="merge[template_id]" value=template_value />
                <input type="hidden" name="merge[email_column]" value=column_value />
                <input type="hidden" name="merge[attachment_column]" value=attachment_column.clone().unwrap_or_default() />
                {attach.iter().enumerate().map(|(i, id)| view! { <input type="hidden" name=format!("merge[attach][{i}]") value=id.to_string() /> }).collect_view()}
                {unsubscribe_footer.then(|| view! { <input type="hidden" name="merge[unsubscribe_footer]" value="true" /> })}
                <p class="field-error">{move || column_error.get()}</p>
                <p class="field-error">{move || attach_error.get()}</p>
                <div class="field" class:invalid=move || cc_error.get().is_some()>
                    <label for="field-cc">"Cc (every message)"</label>
                    <input id="field-cc" name="merge[cc]" type="text" class="mono" placeholder="comma-separated" />
                    <p class="field-error">{move || cc_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || bcc_error.get().is_some()>
                    <label for="field-bcc">"Bcc (every message)"</label>
                    <input id="field-bcc" name="merge[bcc]" type="text" class="mono" placeholder="comma-separated" />
                    <p class="field-error">{move || bcc_error.get()}</p>
                </div>
                <WhenField time_zone=time_zone.clone() error=field_error(error, "send_at") form="merge" />
                <div class="form-actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Queueing…".to_string() } else if ready == 1 { "Queue 1 message".to_string() } else { format!("Queue {ready} messages") }}
                    </button>
                    <span class="muted">"Rows with problems are left out. Everything queues together or nothing does."</span>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}
