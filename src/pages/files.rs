//! Files: the resume, the cover letter and other attachments. Plain forms that
//! post to the server functions, so everything works before the wasm loads.

use crate::components::form::{Missing, loaded};
use crate::components::shell::AppShell;
use crate::files::{FileKind, FileView, FilesPage, format_size, get_files, too_large_message};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// What the last upload or delete did, from the query string.
fn outcome(
    saved: Option<String>,
    replaced: Option<String>,
    deleted: Option<String>,
    pending: bool,
) -> Option<String> {
    let split = |v: &str| {
        let (kind, name) = v.split_once(':').unwrap_or(("attachment", v));
        (
            FileKind::parse(kind).unwrap_or(FileKind::Attachment),
            name.to_string(),
        )
    };
    if let Some(v) = saved {
        let (kind, name) = split(&v);
        return Some(match kind {
            FileKind::Attachment => format!("Saved “{name}”."),
            k => format!("Saved your {} “{name}”.", k.noun()),
        });
    }
    if let Some(v) = replaced {
        let (kind, name) = split(&v);
        return Some(match kind {
            FileKind::Attachment => format!(
                "Replaced “{name}” with the new upload. Queued messages will attach the new one."
            ),
            k => format!(
                "Replaced your {} with “{name}”. Queued messages will attach the new one.",
                k.noun()
            ),
        });
    }
    deleted.map(|name| {
        if pending {
            format!("Deleted “{name}”. File storage did not answer, so its stored copy will be removed as soon as it does.")
        } else {
            format!("Deleted “{name}”.")
        }
    })
}

#[component]
pub fn FilesPageView() -> impl IntoView {
    let query = use_query_map();
    let done = move || {
        let q = query.read();
        outcome(
            q.get("saved"),
            q.get("replaced"),
            q.get("deleted"),
            q.get("pending").is_some(),
        )
    };
    let files = crate::components::data::load(|| (), |_| get_files());
    view! {
        <AppShell title="Files">
            <p class="lead-text">
                "Keep your resume, cover letter and other files here, then attach them in Write email or Mail merge. Files are read when each message is sent."
            </p>
            {move || done().map(|m| view! { <div class="success" role="status">{m}</div> })}
            {loaded(
                files,
                "Loading your files…",
                Missing { not_found: "Your files could not be found.", back_href: "/dashboard", back_label: "Back to the dashboard" },
                |page| view! { <Sections page /> },
            )}
        </AppShell>
    }
}

#[component]
fn Sections(page: FilesPage) -> impl IntoView {
    let query = use_query_map();
    // The upload error belongs to the form it came from.
    let error_for = move |kind: FileKind| {
        let q = query.read_untracked();
        (q.get("for").as_deref() == Some(kind.as_str()))
            .then(|| q.get("error"))
            .flatten()
    };
    let max = format_size(page.max_bytes);
    let used_percent = (page.used_bytes.saturating_mul(100) / page.quota_bytes.max(1)).min(100);
    view! {
        <div class="storage-use">
            <label for="storage-used">
                {format!(
                    "Storage: {} of {} used",
                    format_size(page.used_bytes),
                    format_size(page.quota_bytes)
                )}
            </label>
            <progress id="storage-used" max="100" value=used_percent.to_string()>
                {format!("{used_percent}%")}
            </progress>
        </div>
        {(page.pending_deletions > 0).then(|| view! {
            <div class="notice" role="status">
                {format!(
                    "{} deleted file(s) are still waiting to be removed from file storage. MailMerger keeps trying every minute.",
                    page.pending_deletions
                )}
            </div>
        })}
        <div class="files-grid">
            <OneFile kind=FileKind::Resume title="Resume" file=page.resume.clone() max_bytes=page.max_bytes error=error_for(FileKind::Resume) />
            <OneFile kind=FileKind::CoverLetter title="Cover letter" file=page.cover_letter.clone() max_bytes=page.max_bytes error=error_for(FileKind::CoverLetter) />
        </div>
        <section class="panel" aria-labelledby="attachments-heading">
            <h2 id="attachments-heading">"Attachments"</h2>
            {if page.attachments.is_empty() {
                view! { <p class="muted">"No attachments yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="list files">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Size"</th><th scope="col">"Queued messages"</th><th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {page.attachments.iter().map(|f| view! {
                                    <tr>
                                        <td class="name">{f.name.clone()}</td>
                                        <td data-label="Size">{format_size(f.size_bytes)}</td>
                                        <td data-label="Queued messages">{f.queued_uses}</td>
                                        <td class="row-actions"><FileActions file=f.clone() /></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <UploadForm kind=FileKind::Attachment label="Add an attachment" button="Upload attachment"
                accept=".pdf,.docx,.png,.jpg,.jpeg,.txt,.csv" max_bytes=page.max_bytes
                hint=format!("PDF, Word (.docx), PNG, JPEG, TXT or CSV, up to {max}. A file with the same name as one you have replaces it.")
                error=error_for(FileKind::Attachment) />
        </section>
    }
}

#[component]
fn OneFile(
    kind: FileKind,
    title: &'static str,
    file: Option<FileView>,
    max_bytes: u64,
    error: Option<String>,
) -> impl IntoView {
    let max = format_size(max_bytes);
    let heading = format!("{}-heading", kind.as_str());
    let (label, button) = match (kind, file.is_some()) {
        (FileKind::Resume, false) => ("Resume (PDF)", "Upload resume"),
        (FileKind::Resume, true) => ("New resume (PDF)", "Replace resume"),
        (_, false) => ("Cover letter (PDF)", "Upload cover letter"),
        (_, true) => ("New cover letter (PDF)", "Replace cover letter"),
    };
    view! {
        <section class="panel file-card" aria-labelledby=heading.clone()>
            <h2 id=heading.clone()>{title}</h2>
            {match file {
                Some(f) => view! {
                    <p class="file-line">
                        <strong class="name">{f.name.clone()}</strong>
                        <span class="muted">{format!(" · {}", format_size(f.size_bytes))}</span>
                        {(f.queued_uses > 0).then(|| view! {
                            <span class="muted">{format!(" · attached to {} queued message(s)", f.queued_uses)}</span>
                        })}
                    </p>
                    <FileActions file=f />
                }.into_any(),
                None => view! { <p class="muted">{format!("No {} yet.", kind.noun())}</p> }.into_any(),
            }}
            <UploadForm kind label button accept=".pdf,application/pdf" max_bytes
                hint=format!("A PDF, up to {max}.") error />
        </section>
    }
}

#[component]
fn FileActions(file: FileView) -> impl IntoView {
    view! {
        <div class="file-actions">
            // rel=external: a real request for the browser, not a client-side route.
            <a class="button" href=format!("/files/{}/download", file.id) rel="external" download=file.name.clone()>
                "Download" <span class="visually-hidden">{format!(" {}", file.name)}</span>
            </a>
            <form method="post" action="/api/files/delete" class="inline">
                <input type="hidden" name="id" value=file.id.to_string() />
                <button type="submit" class="danger">
                    "Delete" <span class="visually-hidden">{format!(" {}", file.name)}</span>
                </button>
            </form>
        </div>
    }
}

/// An island: with the wasm, a file over the limit is refused before a byte is sent.
#[island]
fn UploadForm(
    kind: FileKind,
    #[prop(into)] label: String,
    #[prop(into)] button: String,
    #[prop(into)] accept: String,
    max_bytes: u64,
    hint: String,
    error: Option<String>,
) -> impl IntoView {
    let id = format!("field-file-{}", kind.as_str());
    let hint_id = format!("{id}-hint");
    // With JavaScript, a file over the limit is caught before a byte is sent.
    let too_big = RwSignal::new(None::<String>);
    let error = Signal::derive(move || too_big.get().or_else(|| error.clone()));
    let on_change = move |ev: leptos::ev::Event| {
        let over = chosen_size(&ev).is_some_and(|size| size > max_bytes as f64);
        too_big.set(over.then(|| too_large_message(max_bytes)));
    };
    view! {
        <form class="stack upload" method="post" action="/api/files/upload" enctype="multipart/form-data"
            on:submit=move |ev| if too_big.get_untracked().is_some() { ev.prevent_default(); }>
            // Before the file, so the server knows what it is for as it streams.
            <input type="hidden" name="kind" value=kind.as_str() />
            <div class="field" class:invalid=move || error.get().is_some()>
                <label for=id.clone()>{label}</label>
                <p class="hint" id=hint_id.clone()>{hint}</p>
                <input id=id type="file" name="file" accept=accept aria-describedby=hint_id on:change=on_change />
                <p class="field-error" role="alert">{move || error.get()}</p>
            </div>
            <div class="form-actions">
                <button type="submit" class="primary">{button}</button>
            </div>
        </form>
    }
}

/// The size in bytes of the file just chosen in a file input.
fn chosen_size(ev: &leptos::ev::Event) -> Option<f64> {
    use leptos::web_sys::js_sys::Reflect;
    let target = ev.target()?;
    let files = Reflect::get(&target, &"files".into()).ok()?;
    let first = Reflect::get(&files, &0.into()).ok()?;
    Reflect::get(&first, &"size".into()).ok()?.as_f64()
}
