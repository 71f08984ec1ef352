//! Write email: one message, from scratch or from a template, previewed exactly as
//! it will be sent, then queued. Also where a queued message is edited.

use crate::components::attach::AttachField;
use crate::components::form::{FormAlert, Missing, WhenField, action_error, field_error, loaded};
use crate::components::preview::UnsubscribeHeaders;
use crate::components::shell::AppShell;
use crate::compose::{Draft, QueueMessage, preview_message, start_draft};
use crate::error::AppError;
use crate::merge::placeholders;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;
use uuid::Uuid;

#[component]
pub fn ComposePage() -> impl IntoView {
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            q.get("template").and_then(|t| Uuid::parse_str(&t).ok()),
            q.get("edit").and_then(|t| Uuid::parse_str(&t).ok()),
        )
    };
    let draft = crate::components::data::load(key, |(template, edit)| start_draft(template, edit));
    view! {
        <AppShell title="Write email">
            {loaded(
                draft,
                "Loading…",
                Missing {
                    not_found: "That message is no longer queued, or does not exist.",
                    back_href: "/queue",
                    back_label: "Back to the queue",
                },
                |draft| view! { <ComposeForm draft /> },
            )}
        </AppShell>
    }
}

#[island]
fn ComposeForm(draft: Draft) -> impl IntoView {
    let action = ServerAction::<QueueMessage>::new();
    let error = action_error(action);
    let pending = action.pending();
    let editing = draft.id.is_some();
    let to = RwSignal::new(draft.to.clone());
    let subject = RwSignal::new(draft.subject.clone());
    let body = RwSignal::new(draft.body.clone());
    let values = RwSignal::new(draft.values.clone());
    let keys = Memo::new(move |_| placeholders([subject.get().as_str(), body.get().as_str()]));
    let preview = Action::new(move |_: &()| {
        preview_message(
            to.get_untracked(),
            subject.get_untracked(),
            body.get_untracked(),
            values.get_untracked(),
        )
    });
    let template_id = draft.template_id.map(|t| t.to_string()).unwrap_or_default();
    let chosen = draft.template_id;
    let to_error = field_error(error, "to");
    let cc_error = field_error(error, "cc");
    let bcc_error = field_error(error, "bcc");
    let subject_error = field_error(error, "subject");
    let body_error = field_error(error, "body");

    view! {
        {(!editing)
            .then(|| {
                view! {
                    <form method="get" class="inline-form template-picker">
                        <div class="field">
                            <label for="field-template">"Start from a template"</label>
                            <select id="field-template" name="template">
                                <option value="">"No template"</option>
                                {draft
                                    .templates
                                    .iter()
                                    .map(|t| view! { <option value=t.id.to_string() selected=chosen == Some(t.id)>{t.name.clone()}</option> })
                                    .collect_view()}
                            </select>
                        </div>
                        <button type="submit">"Use this template"</button>
                    </form>
                }
            })}
        <div class="editor compose">
            <ActionForm action attr:novalidate=true attr:class="stack editor-form">
                <FormAlert error />
                <input type="hidden" name="message[id]" value=draft.id.map(|i| i.to_string()).unwrap_or_default() />
                <input type="hidden" name="message[template_id]" value=template_id />
                <input type="hidden" name="message[submission]" value=draft.submission.to_string() />
                <div class="field" class:invalid=move || to_error.get().is_some()>
                    <label for="field-to">"To"</label>
                    <input id="field-to" name="message[to]" type="text" class="mono" autocomplete="off" placeholder="name@example.com, another@example.com"
                        value=draft.to.clone() on:input=move |ev| to.set(event_target_value(&ev)) />
                    <p class="field-error">{move || to_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || cc_error.get().is_some()>
                    <label for="field-cc">"Cc"</label>
                    <input id="field-cc" name="message[cc]" type="text" class="mono" autocomplete="off" value=draft.cc.clone() />
                    <p class="field-error">{move || cc_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || bcc_error.get().is_some()>
                    <label for="field-bcc">"Bcc"</label>
                    <input id="field-bcc" name="message[bcc]" type="text" class="mono" autocomplete="off" value=draft.bcc.clone() />
                    <p class="field-error">{move || bcc_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || subject_error.get().is_some()>
                    <label for="field-subject">"Subject"</label>
                    <input id="field-subject" name="message[subject]" type="text" autocomplete="off" value=draft.subject.clone()
                        on:input=move |ev| subject.set(event_target_value(&ev)) />
                    <p class="field-error">{move || subject_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || body_error.get().is_some()>
                    <label for="field-body">"Body"</label>
                    <p class="hint">"Markdown: **bold**, *italic*, [link text](https://…), lists with - or 1."</p>
                    <textarea id="field-body" name="message[body]" rows="12" class="mono" on:input=move |ev| body.set(event_target_value(&ev))>
                        {draft.body.clone()}
                    </textarea>
                    <p class="field-error">{move || body_error.get()}</p>
                </div>
                <fieldset class="placeholders">
                    <legend>"Placeholders"</legend>
                    <p class="hint">"Each placeholder in the subject or body gets its value here."</p>
                    <For each=move || keys.get() key=|k| k.clone() let:key>
                        {
                            let name = format!("message[values][{key}]");
                            let id = format!("field-value-{key}");
                            let initial = values.with_untracked(|v| v.get(&key).cloned()).unwrap_or_default();
                            let k = key.clone();
                            let message = {
                                let field = format!("values[{key}]");
                                move || error.get().and_then(|e| e.message_for(&field))
                            };
                            view! {
                                <div class="field">
                                    <label for=id.clone()><code>{key.clone()}</code></label>
                                    <input id=id name=name type="text" value=initial
                                        on:input=move |ev| {
                                            let v = event_target_value(&ev);
                                            values.update(|m: &mut BTreeMap<String, String>| { m.insert(k.clone(), v); });
                                        } />
                                    <p class="field-error">{message}</p>
                                </div>
                            }
                        }
                    </For>
                    {move || keys.with(|k| k.is_empty()).then(|| view! { <p class="muted">"None"</p> })}
                </fieldset>
                <AttachField files=draft.files.clone() chosen=draft.attach.clone() error=field_error(error, "attach")
                    form="message" />
                <WhenField time_zone=draft.time_zone.clone() error=field_error(error, "send_at") form="message" />
                <div class="form-actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || match (pending.get(), editing) {
                            (true, _) => "Saving…",
                            (false, true) => "Save changes",
                            (false, false) => "Add to queue",
                        }}
                    </button>
                    {(!editing).then(|| view! {
                        <button type="submit" name="message[send]" value="now" disabled=move || pending.get()>
                            "Send now"
                        </button>
                    })}
                    <button type="button" on:click=move |_| { preview.dispatch(()); }>
                        "Merge and preview"
                    </button>
                </div>
            </ActionForm>
            <aside class="preview-pane" aria-labelledby="preview-heading">
                <h2 id="preview-heading">"Preview"</h2>
                {move || match preview.value().get() {
                    None => view! { <p class="muted">"Merge and preview to see the message exactly as it will be sent."</p> }.into_any(),
                    Some(Err(e)) => {
                        let message = match &e {
                            AppError::Invalid { errors } => errors.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join(" "),
                            other => other.to_string(),
                        };
                        view! { <div class="alert" role="alert">{message}</div> }.into_any()
                    }
                    Some(Ok(p)) => {
                        view! {
                            <article class="email-preview" aria-label="Message preview">
                                <dl class="headers">
                                    <dt>"From"</dt><dd>{draft.from_name.clone()}</dd>
                                    <dt>"To"</dt><dd class="mono">{p.to.clone()}</dd>
                                    <dt>"Subject"</dt><dd class="subject">{p.subject.clone()}</dd>
                                    <UnsubscribeHeaders url=p.list_unsubscribe.clone() />
                                </dl>
                                // Sanitised by the same pipeline as sending; values are escaped.
                                <div class="body" inner_html=p.html.clone()></div>
                                <details>
                                    <summary>"Plain-text version"</summary>
                                    <pre class="text-part">{p.text.clone()}</pre>
                                </details>
                            </article>
                        }
                            .into_any()
                    }
                }}
            </aside>
        </div>
    }
}
