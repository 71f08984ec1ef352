//! Templates: the list, the editor, and the delete confirmation.

use crate::components::form::{
    FormAlert, Missing, PostForm, action_error, field_error, loaded, posted_error,
};
use crate::components::markdown::{Format, apply, byte_offset, utf16_offset};
use crate::components::paging::param;
use crate::components::shell::AppShell;
use crate::error::AppError;
use crate::merge::placeholders;
use crate::templates::{
    DeleteTemplate, DuplicateTemplate, SaveTemplate, TemplateDetail, get_template, list_templates,
    preview_template,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

#[component]
pub fn TemplatesPage() -> impl IntoView {
    // "Duplicate" is a plain post that comes back to this page, reloaded; a
    // refusal comes back in the address and shows once, above the list.
    let templates = crate::components::data::load(|| (), |_| list_templates());
    let duplicate_error = Signal::stored(posted_error(<DuplicateTemplate as ServerFn>::PATH));
    view! {
        <AppShell title="Templates">
            <p class="page-actions">
                <a class="button primary" href="/templates/new">
                    "New template"
                </a>
            </p>
            <FormAlert error=duplicate_error />
            <Suspense fallback=|| view! { <p class="muted">"Loading your templates…"</p> }>
                {move || {
                    templates
                        .get()
                        .map(|result| match result {
                            Err(e) => view! { <div class="alert" role="alert">{e.to_string()}</div> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! {
                                    <section class="empty">
                                        <p class="empty-purpose">
                                            "Templates are reusable emails. Write one with placeholders such as "
                                            <code>"{{ first_name }}"</code>
                                            " and each recipient gets their own version."
                                        </p>
                                        <a class="button primary" href="/templates/new">
                                            "Write your first template"
                                        </a>
                                    </section>
                                }
                                    .into_any()
                            }
                            Ok(list) => {
                                let count = list.len();
                                view! {
                                    <p class="muted">
                                        {if count == 1 { "1 template".to_string() } else { format!("{count} templates") }}
                                    </p>
                                    <div class="table-wrap">
                                        <table class="list">
                                            <thead>
                                                <tr>
                                                    <th scope="col">"Name"</th>
                                                    <th scope="col">"Subject"</th>
                                                    <th scope="col">"Placeholders"</th>
                                                    <th scope="col">"Last edited"</th>
                                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {list
                                                    .into_iter()
                                                    .map(|t| {
                                                        let id = t.id.to_string();
                                                        let edit_href = format!("/templates/{id}/edit");
                                                        let delete_href = format!("/templates/{id}/delete");
                                                        let duplicate_label = format!("Duplicate {}", t.name);
                                                        let delete_label = format!("Delete {}", t.name);
                                                        view! {
                                                            <tr>
                                                                <td><a href=edit_href>{t.name}</a></td>
                                                                <td>{t.subject}</td>
                                                                <td class="keys">
                                                                    {t.placeholders.into_iter().map(|k| view! { <code>{k}</code>" " }).collect_view()}
                                                                </td>
                                                                <td class="when">{t.updated}</td>
                                                                <td class="row-actions">
                                                                    <form method="post" action={<DuplicateTemplate as ServerFn>::PATH}>
                                                                        <input type="hidden" name="id" value=id />
                                                                        <button type="submit" class="small" aria-label=duplicate_label>
                                                                            "Duplicate"
                                                                        </button>
                                                                    </form>
                                                                    <a class="button small danger" href=delete_href aria-label=delete_label>
                                                                        "Delete"
                                                                    </a>
                                                                </td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </AppShell>
    }
}

const NO_TEMPLATE: Missing = Missing {
    not_found: "There is no such template. It may have been deleted.",
    back_href: "/templates",
    back_label: "Back to your templates",
};

/// The template named by the `:id` in the URL (an id that is not a UUID is simply
/// not found).
fn template_from_url() -> crate::components::data::Loaded<TemplateDetail> {
    let params = use_params_map();
    let id = move || param::<Uuid>(&params.read(), "id");
    crate::components::data::load(id, |id| async move {
        match id {
            Some(id) => get_template(id).await,
            None => Err(AppError::NotFound),
        }
    })
}

#[component]
pub fn NewTemplatePage() -> impl IntoView {
    view! {
        <AppShell title="New template">
            <TemplateEditor template=None />
        </AppShell>
    }
}

#[component]
pub fn EditTemplatePage() -> impl IntoView {
    let template = template_from_url();
    view! {
        <AppShell title="Edit template">
            {loaded(template, "Loading…", NO_TEMPLATE, |t| view! { <TemplateEditor template=Some(t) /> })}
        </AppShell>
    }
}

/// The form for a new or an existing template, with the live list of placeholders.
#[island]
fn TemplateEditor(template: Option<TemplateDetail>) -> impl IntoView {
    let action = ServerAction::<SaveTemplate>::new();
    let error = action_error(action);
    let pending = action.pending();
    let t = template.clone();
    let id = t.as_ref().map(|t| t.id.to_string()).unwrap_or_default();
    let name = t.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    let subject = RwSignal::new(t.as_ref().map(|t| t.subject.clone()).unwrap_or_default());
    let body = RwSignal::new(t.as_ref().map(|t| t.body.clone()).unwrap_or_default());
    let keys = Memo::new(move |_| placeholders([subject.get().as_str(), body.get().as_str()]));
    let field = move |f: &'static str| field_error(error, f);
    let name_error = field("name");
    // A template saved before a rule was added opens showing what must change,
    // until the form is submitted.
    let problem = t
        .as_ref()
        .and_then(|t| t.problem_field.clone().zip(t.problem.clone()));
    let known = move |f: &'static str| {
        let server = field(f);
        let problem = problem.clone();
        Signal::derive(move || {
            server.get().or_else(|| {
                problem
                    .clone()
                    .filter(|(pf, _)| pf == f && error.get().is_none())
                    .map(|(_, m)| m)
            })
        })
    };
    let subject_error = known("subject");
    let body_error = known("body");

    // With JavaScript: a formatting toolbar and a live preview, refreshed shortly
    // after typing stops.
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    let enhanced = RwSignal::new(false);
    let preview = Action::new(|(s, b): &(String, String)| preview_template(s.clone(), b.clone()));
    let generation = StoredValue::new(0u64);
    let refresh = move || {
        let this = generation.get_value() + 1;
        generation.set_value(this);
        set_timeout(
            move || {
                if generation.get_value() == this && !body.get_untracked().trim().is_empty() {
                    preview.dispatch((subject.get_untracked(), body.get_untracked()));
                }
            },
            std::time::Duration::from_millis(400),
        );
    };
    Effect::new(move |_| {
        enhanced.set(true);
        refresh();
    });
    let format = move |kind: Format| {
        let Some(el) = textarea.get() else { return };
        let text = el.value();
        let start = byte_offset(
            &text,
            el.selection_start().ok().flatten().unwrap_or(0) as usize,
        );
        let end = byte_offset(
            &text,
            el.selection_end().ok().flatten().unwrap_or(0) as usize,
        );
        let (new, s, e) = apply(&text, start, end, kind);
        el.set_value(&new);
        body.set(new.clone());
        let _ = el.focus();
        let _ = el.set_selection_range(utf16_offset(&new, s) as u32, utf16_offset(&new, e) as u32);
        refresh();
    };

    view! {
        <div class="editor">
            <ActionForm action attr:novalidate=true attr:class="stack editor-form">
                <FormAlert error />
                <input type="hidden" name="id" value=id />
                <div class="field" class:invalid=move || name_error.get().is_some()>
                    <label for="field-name">"Name"</label>
                    <p class="hint" id="field-name-hint">"Only you see this: “Follow-up after interview”."</p>
                    <input id="field-name" name="name" type="text" value=name autocomplete="off"
                        aria-describedby="field-name-hint field-name-error" />
                    <p class="field-error" id="field-name-error">{move || name_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || subject_error.get().is_some()>
                    <label for="field-subject">"Subject"</label>
                    <input id="field-subject" name="subject" type="text" autocomplete="off"
                        value=subject.get_untracked()
                        prop:value=move || subject.get()
                        on:input=move |ev| {
                            subject.set(event_target_value(&ev));
                            refresh();
                        }
                        aria-describedby="field-subject-error" />
                    <p class="field-error" id="field-subject-error">{move || subject_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || body_error.get().is_some()>
                    <label for="field-body">"Body"</label>
                    <p class="hint" id="field-body-hint">
                        "Markdown: **bold**, *italic*, [link text](https://…), and lists starting with - or 1. "
                        "Placeholders such as {{ first_name }} or {{ company | default(\"your team\") }} go in the text."
                    </p>
                    {move || {
                        enhanced
                            .get()
                            .then(|| {
                                view! {
                                    <div class="toolbar" role="toolbar" aria-label="Formatting" aria-controls="field-body">
                                        {Format::ALL
                                            .into_iter()
                                            .map(|(kind, label)| view! { <button type="button" class="small" on:click=move |_| format(kind)>{label}</button> })
                                            .collect_view()}
                                    </div>
                                }
                            })
                    }}
                    <textarea id="field-body" name="body" rows="14" class="mono" node_ref=textarea
                        aria-describedby="field-body-hint field-body-error"
                        prop:value=move || body.get()
                        on:input=move |ev| {
                            body.set(event_target_value(&ev));
                            refresh();
                        }>
                        {body.get_untracked()}
                    </textarea>
                    <p class="field-error" id="field-body-error">{move || body_error.get()}</p>
                </div>
                <div class="form-actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Saving…" } else { "Save template" }}
                    </button>
                    <a href="/templates">"Cancel"</a>
                </div>
            </ActionForm>
            <aside class="keys-panel" aria-labelledby="keys-heading">
                <h2 id="keys-heading">"Placeholders"</h2>
                <p class="hint">"Each one needs a value for every recipient, unless it has a default."</p>
                <ul class="keys" aria-live="polite">
                    {move || {
                        let keys = keys.get();
                        if keys.is_empty() {
                            view! { <li class="muted">"None yet"</li> }.into_any()
                        } else {
                            keys.into_iter().map(|k| view! { <li><code>{k}</code></li> }).collect_view().into_any()
                        }
                    }}
                </ul>
                {move || {
                    enhanced
                        .get()
                        .then(|| {
                            view! {
                                <h2 id="live-preview-heading">"Preview"</h2>
                                <div class="live-preview" aria-labelledby="live-preview-heading" aria-live="polite">
                                    {move || match preview.value().get() {
                                        None => view! { <p class="muted">"Start writing to see it formatted."</p> }.into_any(),
                                        // Sanitised by the same pipeline as saving.
                                        Some(Ok(html)) => view! { <div class="body" inner_html=html></div> }.into_any(),
                                        Some(Err(e)) => view! { <p class="field-error">{e.message_for("body").or_else(|| e.message_for("subject")).unwrap_or_else(|| e.to_string())}</p> }.into_any(),
                                    }}
                                </div>
                            }
                        })
                }}
            </aside>
        </div>
    }
}

#[component]
pub fn DeleteTemplatePage() -> impl IntoView {
    let template = template_from_url();
    view! {
        <AppShell title="Delete template">
            {loaded(template, "Loading…", NO_TEMPLATE, move |t| {
                view! {
                    <section class="panel confirm">
                        <p>
                            "Delete the template " <strong>{t.name.clone()}</strong>
                            "? This deletes 1 template and cannot be undone. Mail already queued from it is not affected."
                        </p>
                        <PostForm path={<DeleteTemplate as ServerFn>::PATH} class="form-actions">
                            <input type="hidden" name="id" value=t.id.to_string() />
                            <button type="submit" class="danger">
                                "Delete template"
                            </button>
                            <a href="/templates">"Keep it"</a>
                        </PostForm>
                    </section>
                }
            })}
        </AppShell>
    }
}
