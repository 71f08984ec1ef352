//! Campaigns: the list and a new draft from a CSV; a campaign's page with its
//! settings (a draft), its counts, progress and each recipient's timeline.

use crate::campaigns::{
    AddRecipients, CampaignAction, CampaignStatus, CampaignSummary, CampaignView, ChangeStep,
    MAX_STEPS, MarkReplied, RecipientState, RecipientView, SaveCampaign, StartCampaign,
    get_campaign, list_campaigns,
};
use crate::components::attach::AttachField;
use crate::components::csv::{BadRows, CsvFields};
use crate::components::form::{
    FormAlert, Missing, PostForm, action_error, field_error, loaded, posted_error,
};
use crate::components::paging::param;
use crate::components::progress::Live;
use crate::components::shell::AppShell;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

/// "1 recipient", "3 recipients".
fn recipients(n: u64) -> String {
    if n == 1 {
        "1 recipient".into()
    } else {
        format!("{n} recipients")
    }
}

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    let list = crate::components::data::load(|| (), |_| list_campaigns());
    view! {
        <AppShell title="Campaigns">
            <p class="lead-text">
                "A campaign sends a first message to every row of a CSV, then follow-ups as replies in the same Gmail thread, some days later, only to people who have not replied, inside the hours you choose."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading your campaigns…"</p> }>
                {move || {
                    list.get()
                        .map(|r| match r {
                            Ok(list) if list.is_empty() => view! {
                                <p class="muted">"No campaigns yet."</p>
                            }
                            .into_any(),
                            Ok(list) => view! { <CampaignList list /> }.into_any(),
                            Err(e) => view! { <div class="alert" role="alert">{e.to_string()}</div> }.into_any(),
                        })
                }}
            </Transition>
            <section class="panel" aria-labelledby="new-heading">
                <h2 id="new-heading">"New campaign"</h2>
                {move || error().map(|e| view! { <div class="alert" role="alert">{e}</div> })}
                <form class="stack" method="post" action="/api/campaigns/create" enctype="multipart/form-data">
                    <CsvFields key="csv" file_label="Recipients (CSV file)"
                        hint="One row per person: an email column, the columns your templates use, and optionally a time_zone column (such as Europe/Berlin) for each person's sending hours."
                        paste_label="Or paste your recipients" rows=6
                        placeholder="email,first_name,time_zone\nada@example.com,Ada,Europe/London" />
                    <div class="form-actions">
                        <button type="submit" class="primary">"Create a draft"</button>
                    </div>
                </form>
            </section>
        </AppShell>
    }
}

#[component]
fn CampaignList(list: Vec<CampaignSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="list">
                <caption class="visually-hidden">"Your campaigns"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Recipients"</th>
                        <th scope="col">"Replied"</th>
                        <th scope="col">"Progress"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|c| {
                            view! {
                                <tr>
                                    <td><a href=format!("/campaigns/{}", c.id)>{c.name}</a></td>
                                    <td><span class=format!("status {}", c.status.as_str())>{c.status.label()}</span></td>
                                    <td>{c.recipients}</td>
                                    <td>{c.replied}</td>
                                    <td>{format!("{} of {} steps", c.steps_sent, c.steps_total)}</td>
                                    <td class="muted">{c.created}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    // Every control posts and comes back to this page.
    let campaign = crate::components::data::load(
        move || {
            (
                param::<Uuid>(&params.read(), "id"),
                param::<Uuid>(&query.read(), "add"),
            )
        },
        |(id, more)| async move {
            match id {
                Some(id) => get_campaign(id, more).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    let notice = move || {
        let q = query.read();
        if q.get("saved").is_some() {
            Some("Saved.".to_string())
        } else if let Some(n) = param::<u64>(&q, "started") {
            Some(format!("Started: step 1 is queued for {}.", recipients(n)))
        } else if let (Some(k), Some(n)) = (param::<u64>(&q, "step"), param::<u64>(&q, "changed")) {
            Some(format!(
                "Step {k} now uses the new template; {} not yet sent {} rendered again.",
                if n == 1 {
                    "1 message".to_string()
                } else {
                    format!("{n} messages")
                },
                if n == 1 { "was" } else { "were" }
            ))
        } else if let Some(n) = param::<u64>(&q, "added") {
            Some(format!(
                "Added {}: step 1 is queued for each.",
                recipients(n)
            ))
        } else if let Some(what) = q.get("corrected") {
            Some(
                if what == "stop" {
                    "Corrected: that was a reply, so no more steps go to them."
                } else {
                    "Corrected: that was not a reply, so their sequence goes on with its next step."
                }
                .to_string(),
            )
        } else {
            param::<u64>(&q, "replied").map(|n| {
                if n == 1 {
                    "Marked 1 recipient as replied.".to_string()
                } else {
                    format!("Marked {n} recipients as replied.")
                }
            })
        }
    };
    view! {
        <AppShell title="Campaign">
            {move || notice().map(|n| view! { <div class="success" role="status">{n}</div> })}
            {loaded(
                campaign,
                "Loading the campaign…",
                Missing {
                    not_found: "There is no such campaign.",
                    back_href: "/campaigns",
                    back_label: "See your campaigns",
                },
                // One live region while it sends (components::progress).
                move |c| view! { <div id="campaign-live" data-live=""><Campaign c /></div> },
            )}
        </AppShell>
    }
}

#[component]
fn Campaign(c: CampaignView) -> impl IntoView {
    let draft = c.status == CampaignStatus::Draft;
    let open = matches!(c.status, CampaignStatus::Running | CampaignStatus::Paused);
    view! {
        <header class="campaign-head">
            <h2>{c.name.clone()}</h2>
            <p>
                <span class=format!("status {}", c.status.as_str())>{c.status.label()}</span>
                {c.started.clone().map(|s| view! { <span class="muted">{format!(" · started {s}")}</span> })}
                <span class="muted">{format!(" · from {}", c.file_name)}</span>
            </p>
            {c.paused_reason.clone().map(|r| view! { <p class="alert" role="alert">{r}</p> })}
        </header>
        {if draft {
            view! {
                <Settings s=DraftSettings::of(&c) />
                <DraftReport c=c.clone() />
            }
            .into_any()
        } else {
            view! {
                <Progress c=c.clone() />
                <Controls c=c.clone() />
                <Recipients c=c.clone() />
                {open.then(|| view! { <Steps c=c.clone() /> })}
                {open.then(|| view! { <AddMore c=c.clone() /> })}
            }
            .into_any()
        }}
    }
}

/// A started campaign's steps, each of which can take another template.
#[component]
fn Steps(c: CampaignView) -> impl IntoView {
    let error = Signal::stored(posted_error(<ChangeStep as ServerFn>::PATH));
    let first_subject = c
        .steps
        .first()
        .and_then(|s| s.subject.clone())
        .unwrap_or_default();
    let id = c.id.to_string();
    let items = c
        .steps
        .iter()
        .map(|s| {
            let n = s.position;
            let field_error = field_error(error, STEP_FIELDS[(n as usize - 1).min(MAX_STEPS - 1)].0);
            let when = if n == 1 {
                "At the start".to_string()
            } else {
                format!("{} days after step {}, if they have not replied", s.delay_days, n - 1)
            };
            let subject = if n == 1 { first_subject.clone() } else { format!("Re: {first_subject}") };
            let from = s
                .template_id
                .and_then(|t| c.templates.iter().find(|x| x.id == t))
                .map(|t| format!(" · copied from {}", t.name));
            let select_id = format!("field-step-template-{n}");
            let id = id.clone();
            let options = c
                .templates
                .iter()
                .map(|t| view! { <option value=t.id.to_string() selected=s.template_id == Some(t.id)>{t.name.clone()}</option> })
                .collect_view();
            view! {
                <li class="step-item">
                    <p>
                        <strong>{format!("Step {n}")}</strong>
                        <span class="muted">{format!(" · {when} · subject “{subject}”")}{from}</span>
                    </p>
                    <form method="post" action={<ChangeStep as ServerFn>::PATH} class="inline-form">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="position" value=n.to_string() />
                        <div class="field" class:invalid=move || field_error.get().is_some()>
                            <label for=select_id.clone()>{format!("New template for step {n}")}</label>
                            <select id=select_id name="template_id">{options}</select>
                            <p class="field-error">{move || field_error.get()}</p>
                        </div>
                        <button type="submit">{format!("Use for step {n}")}</button>
                    </form>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="steps-heading">
            <h2 id="steps-heading">"Steps"</h2>
            <FormAlert error />
            <ol class="plain-list">{items}</ol>
            <p class="hint">"A new template changes only messages not yet sent; the template is copied, so later edits in Templates change nothing here."</p>
        </section>
    }
}

#[component]
fn AddMore(c: CampaignView) -> impl IntoView {
    let query = use_query_map();
    let upload_error = move || query.read().get("error");
    view! {
        <section class="panel" aria-labelledby="add-heading">
            <h2 id="add-heading">"Add recipients"</h2>
            {move || upload_error().map(|e| view! { <div class="alert" role="alert">{e}</div> })}
            {c.adding.clone().map(|a| {
                let rows = a.ready + a.bad.len();
                let ready = a.ready;
                view! {
                    <div class="stack">
                        <p><strong>{a.file_name.clone()}</strong></p>
                        {match a.problem.clone() {
                            Some(p) => view! { <div class="notice" role="status">{p}</div> }.into_any(),
                            None => view! {
                                <p class="summary" role="status">
                                    <span class="ok-count">{format!("{ready} of {rows} rows can be added")}</span>
                                    {(!a.bad.is_empty()).then(|| view! {
                                        <span class="bad-count">{format!(", {} with problems (left out)", a.bad.len())}</span>
                                    })}
                                </p>
                                <BadRows bad=a.bad.clone() />
                            }.into_any(),
                        }}
                        {(ready > 0).then(|| view! {
                            <PostForm path={<AddRecipients as ServerFn>::PATH} class="inline-form">
                                <input type="hidden" name="id" value=c.id.to_string() />
                                <input type="hidden" name="import_id" value=a.import_id.to_string() />
                                <button type="submit" class="primary">
                                    {format!("Add {}", recipients(ready as u64))}
                                </button>
                            </PostForm>
                        })}
                    </div>
                }
            })}
            <form class="stack" method="post" action="/api/campaigns/more" enctype="multipart/form-data">
                <input type="hidden" name="id" value=c.id.to_string() />
                <CsvFields key="more" file_label="More recipients (CSV file)"
                    hint=format!(
                        "The same columns: {} for the address and every placeholder the steps use. Addresses already in this or another running campaign are left out.",
                        c.email_column.clone().unwrap_or_default()
                    )
                    paste_label="Or paste them" rows=3 />
                <div class="form-actions">
                    <button type="submit">"Check these recipients"</button>
                </div>
            </form>
        </section>
    }
}

/// What the draft's settings form shows: a campaign without its recipients
/// and reports (the island's props, sent with the page).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DraftSettings {
    id: Uuid,
    name: String,
    columns: Vec<String>,
    email_column: Option<String>,
    zone_column: Option<String>,
    time_zone: String,
    days: [bool; 7],
    window_start: String,
    window_end: String,
    starts_at: String,
    unsubscribe_footer: bool,
    stop_on_auto: bool,
    steps: Vec<crate::campaigns::StepView>,
    templates: Vec<crate::templates::TemplateChoice>,
    files: Vec<crate::files::FileView>,
}

impl DraftSettings {
    fn of(c: &CampaignView) -> Self {
        DraftSettings {
            id: c.id,
            name: c.name.clone(),
            columns: c.columns.clone(),
            email_column: c.email_column.clone(),
            zone_column: c.zone_column.clone(),
            time_zone: c.time_zone.clone(),
            days: c.days,
            window_start: c.window_start.clone(),
            window_end: c.window_end.clone(),
            starts_at: c.starts_at.clone(),
            unsubscribe_footer: c.unsubscribe_footer,
            stop_on_auto: c.stop_on_auto,
            steps: c.steps.clone(),
            templates: c.templates.clone(),
            files: c.files.clone(),
        }
    }
}

/// A draft's settings. An island: a refusal shows next to its field and keeps
/// what was chosen.
#[island]
fn Settings(s: DraftSettings) -> impl IntoView {
    let c = s;
    let save = ServerAction::<SaveCampaign>::new();
    let error = action_error(save);
    let name_error = field_error(error, "name");
    let column_error = field_error(error, "email_column");
    let zone_error = field_error(error, "zone_column");
    let days_error = field_error(error, "days");
    let start_error = field_error(error, "window_start");
    let end_error = field_error(error, "window_end");
    let when_error = field_error(error, "send_at");
    let later = !c.starts_at.is_empty();
    let step = |i: usize| c.steps.get(i).cloned();
    // The saved steps and one blank follow-up row to add another (a new
    // draft: step 1 and a first follow-up).
    let rows = (c.steps.len() + 1).clamp(2, MAX_STEPS);
    let step_rows = (0..rows).map(|i| {
                        let saved = step(i);
                        let n = i + 1;
                        let template_error = field_error(error, if n == 1 { "step1" } else { STEP_FIELDS[i].0 });
                        let delay_error = field_error(error, STEP_FIELDS[i].1);
                        let chosen = saved.as_ref().and_then(|s| s.template_id);
                        let delay = saved.as_ref().map(|s| s.delay_days.to_string()).unwrap_or_else(|| "3".into());
                        view! {
                            <div class="step-row" class:invalid=move || template_error.get().is_some() || delay_error.get().is_some()>
                                <div class="field">
                                    <label for=format!("field-step{n}")>
                                        {if n == 1 { "Step 1: first message".to_string() } else { format!("Step {n}: follow-up template") }}
                                    </label>
                                    <select id=format!("field-step{n}") name=format!("campaign[steps][{i}][template_id]")>
                                        <option value="" selected=chosen.is_none()>
                                            {if n == 1 { "Choose a template" } else { "No follow-up" }}
                                        </option>
                                        {c.templates.iter().map(|t| view! {
                                            <option value=t.id.to_string() selected=chosen == Some(t.id)>{t.name.clone()}</option>
                                        }).collect_view()}
                                    </select>
                                    <p class="field-error">{move || template_error.get()}</p>
                                </div>
                                {(n > 1).then(|| view! {
                                    <div class="field">
                                        <label for=format!("field-step{n}_delay")>"Days after the step before"</label>
                                        <input id=format!("field-step{n}_delay") name=format!("campaign[steps][{i}][delay_days]")
                                            type="number" min="1" max="365" value=delay.clone() />
                                        <p class="field-error">{move || delay_error.get()}</p>
                                    </div>
                                })}
                                <AttachField files=c.files.clone() chosen=saved.as_ref().map(|s| s.attach.clone()).unwrap_or_default()
                                    error=field_error(error, STEP_FIELDS[i].2) scope=format!("campaign[steps][{i}]")
                                    legend="Files each message of this step attaches" />
                            </div>
                        }
    }).collect_view();
    view! {
        <section class="panel" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <ActionForm action=save attr:novalidate=true attr:class="stack">
                <FormAlert error />
                <input type="hidden" name="campaign[id]" value=c.id.to_string() />
                <div class="field" class:invalid=move || name_error.get().is_some()>
                    <label for="field-name">"Name"</label>
                    <input id="field-name" name="campaign[name]" type="text" value=c.name.clone() maxlength="200" />
                    <p class="field-error">{move || name_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || column_error.get().is_some()>
                    <label for="field-email_column">"Email column"</label>
                    <select id="field-email_column" name="campaign[email_column]">
                        {c.columns.iter().map(|col| view! {
                            <option value=col.clone() selected=c.email_column.as_deref() == Some(col)>{col.clone()}</option>
                        }).collect_view()}
                    </select>
                    <p class="field-error">{move || column_error.get()}</p>
                </div>
                <div class="field" class:invalid=move || zone_error.get().is_some()>
                    <label for="field-zone_column">"Time-zone column"</label>
                    <select id="field-zone_column" name="campaign[zone_column]">
                        <option value="" selected=c.zone_column.is_none()>{format!("None: everyone in {}", c.time_zone)}</option>
                        {c.columns.iter().map(|col| view! {
                            <option value=col.clone() selected=c.zone_column.as_deref() == Some(col)>{col.clone()}</option>
                        }).collect_view()}
                    </select>
                    <p class="hint">"Each person's sending hours are read in their zone; an empty cell uses yours."</p>
                    <p class="field-error">{move || zone_error.get()}</p>
                </div>
                <fieldset class="steps-fields">
                    <legend>"Steps"</legend>
                    {step_rows}
                    <p class="hint">
                        "Follow-ups go as replies in the first message's thread, with its subject, only to people who have not replied. Save to add another follow-up."
                    </p>
                </fieldset>
                <fieldset class="window" class:invalid=move || days_error.get().is_some()>
                    <legend>"Sending hours"</legend>
                    <div class="choices">
                        {DAYS.iter().enumerate().map(|(i, day)| view! {
                            <label class="choice">
                                <input type="checkbox" name=format!("campaign[days][{i}]") value=i.to_string() checked=c.days[i] />
                                {format!(" {day}")}
                            </label>
                        }).collect_view()}
                    </div>
                    <p class="field-error">{move || days_error.get()}</p>
                    <div class="inline-fields">
                        <div class="field" class:invalid=move || start_error.get().is_some()>
                            <label for="field-window_start">"From"</label>
                            <input id="field-window_start" name="campaign[window_start]" type="time" value=c.window_start.clone() />
                            <p class="field-error">{move || start_error.get()}</p>
                        </div>
                        <div class="field" class:invalid=move || end_error.get().is_some()>
                            <label for="field-window_end">"Until"</label>
                            <input id="field-window_end" name="campaign[window_end]" type="text" inputmode="numeric"
                                pattern="[0-2][0-9]:[0-5][0-9]" value=c.window_end.clone() />
                            <p class="field-error">{move || end_error.get()}</p>
                        </div>
                    </div>
                    <p class="hint">"In each person's time zone. Mail that could not go before the hours end waits for the next opening."</p>
                </fieldset>
                <fieldset class="when">
                    <legend>"Start"</legend>
                    <label class="choice"><input type="radio" name="campaign[when]" value="now" checked=!later />" When I press Start"</label>
                    <label class="choice"><input type="radio" name="campaign[when]" value="later" checked=later />" At a time I choose"</label>
                    <div class="field" class:invalid=move || when_error.get().is_some()>
                        <label for="field-send_at">{format!("Start time ({})", c.time_zone)}</label>
                        <input id="field-send_at" name="campaign[send_at]" type="datetime-local" value=c.starts_at.clone() />
                        <p class="field-error">{move || when_error.get()}</p>
                    </div>
                </fieldset>
                <label class="choice">
                    <input type="checkbox" name="campaign[unsubscribe_footer]" value="true" checked=c.unsubscribe_footer />
                    " Add an unsubscribe footer to every message"
                </label>
                <label class="choice">
                    <input type="checkbox" name="campaign[stop_on_auto]" value="true" checked=c.stop_on_auto />
                    " Out-of-office replies end a sequence too (with stop on reply; otherwise the next step still goes)"
                </label>
                <div class="form-actions">
                    <button type="submit" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save settings" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// The field names of each step row's errors (`step2`, `step2_delay`, `step2_attach`).
const STEP_FIELDS: [(&str, &str, &str); MAX_STEPS] = [
    ("step1", "step1_delay", "step1_attach"),
    ("step2", "step2_delay", "step2_attach"),
    ("step3", "step3_delay", "step3_attach"),
    ("step4", "step4_delay", "step4_attach"),
    ("step5", "step5_delay", "step5_attach"),
];

#[component]
fn DraftReport(c: CampaignView) -> impl IntoView {
    let Some(check) = c.check.clone() else {
        return ().into_any();
    };
    let rows = check.ready + check.bad.len();
    let ready = check.ready;
    view! {
        <section class="panel" aria-labelledby="report-heading">
            <h2 id="report-heading">"Recipients"</h2>
            {match check.problem.clone() {
                Some(p) => view! { <div class="notice" role="status">{p}</div> }.into_any(),
                None => view! {
                    <p class="summary" role="status">
                        <span class="ok-count">{format!("{ready} of {rows} rows ready")}</span>
                        {(!check.bad.is_empty()).then(|| view! {
                            <span class="bad-count">{format!(", {} with problems (left out)", check.bad.len())}</span>
                        })}
                    </p>
                    <BadRows bad=check.bad.clone() />
                }
                .into_any(),
            }}
            {check.plan.clone().map(|p| view! {
                <div class="plan" role="status">
                    <h3>"Plan"</h3>
                    <p>
                        {format!(
                            "{} messages: about {} a day; step 1 done {}; last follow-up no earlier than {}.",
                            p.messages, p.per_day, p.step1_done, p.last
                        )}
                    </p>
                    <p class="hint">"If nobody replies, nothing fails and you send nothing else meanwhile, at your daily limit and sending hours."</p>
                    {p.outlives_testing_token.then(|| view! {
                        <p class="notice">
                            {format!(
                                "This campaign runs for about {} days. If your Google Cloud app is in Testing mode, Google ends MailMerger's permission to send after 7 days: publish the app, or reconnect Gmail when Settings asks.",
                                p.days
                            )}
                        </p>
                    })}
                </div>
            })}
            <p class="hint">
                "Gmail threads each follow-up with its first message in your mailbox. MailMerger can send only, not read your mailbox, so some recipients' mail programs may show follow-ups as separate conversations."
            </p>
            <div class="form-actions">
                <PostForm path={<StartCampaign as ServerFn>::PATH} class="inline-form">
                    <input type="hidden" name="id" value=c.id.to_string() />
                    <button type="submit" class="primary" disabled=ready == 0>
                        {format!("Start: {}", recipients(ready as u64))}
                    </button>
                </PostForm>
                <PostForm path={<CampaignAction as ServerFn>::PATH} class="inline-form">
                    <input type="hidden" name="id" value=c.id.to_string() />
                    <button type="submit" name="action" value="cancel" class="danger">"Discard the draft"</button>
                </PostForm>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn Progress(c: CampaignView) -> impl IntoView {
    let counts = c.counts.clone();
    let running = c.status == CampaignStatus::Running && counts.steps_sent < counts.steps_total;
    view! {
        <section class="progress-panel" aria-labelledby="progress-heading">
            <h2 id="progress-heading">"Progress"</h2>
            <progress max=counts.steps_total.max(1) value=counts.steps_sent aria-label="Steps sent so far"></progress>
            <p class="progress-counts" role="status" aria-live="polite">
                {format!("{} of {} steps sent", counts.steps_sent, counts.steps_total)}
            </p>
            <ul class="state-counts">
                {RecipientState::ALL.iter().map(|s| {
                    let n = counts.of(*s);
                    view! { <li class=s.as_str()><span>{s.label()}</span>" "<strong>{n}</strong></li> }
                }).collect_view()}
            </ul>
            {if c.stop_on_reply {
                view! { <p class="hint">"Stop on reply is on: a reply, a bounce or a message you write to them in the thread ends a recipient's sequence by itself, and no follow-up goes without a fresh read of your mailbox."</p> }.into_any()
            } else {
                view! { <p class="hint">"Replies are marked by hand here. " <a href="/settings">"Turn on stop on reply"</a> " in Settings to have them found for you."</p> }.into_any()
            }}
            {c.threading_warning.then(|| view! {
                <p class="hint">
                    "Follow-ups carry the first message's Gmail thread, so they are one conversation in your Gmail. Some recipients' mail programs may show them as separate conversations."
                </p>
            })}
            {running.then(|| view! {
                <noscript inner_html=r#"<meta http-equiv="refresh" content="10">"#></noscript>
                <Live every_ms=2000 />
            })}
        </section>
    }
}

#[component]
fn Controls(c: CampaignView) -> impl IntoView {
    let id = c.id.to_string();
    let buttons: Vec<(&str, &str, &str)> = match c.status {
        CampaignStatus::Running => vec![
            ("pause", "Pause", ""),
            ("cancel", "Cancel the campaign", "danger"),
        ],
        CampaignStatus::Paused => vec![
            ("resume", "Resume", "primary"),
            ("cancel", "Cancel the campaign", "danger"),
        ],
        _ => Vec::new(),
    };
    if buttons.is_empty() {
        return ().into_any();
    }
    view! {
        <PostForm path={<CampaignAction as ServerFn>::PATH} class="inline-form campaign-controls">
            <input type="hidden" name="id" value=id />
            {buttons.into_iter().map(|(value, label, class)| view! {
                <button type="submit" name="action" value=value class=class>{label}</button>
            }).collect_view()}
            <span class="muted">
                {if c.status == CampaignStatus::Running {
                    "Pause stops new sends at once; a message already with Gmail finishes. Cancel ends every step not yet sent."
                } else {
                    "Resume sends the waiting steps inside their hours."
                }}
            </span>
        </PostForm>
    }
    .into_any()
}

#[component]
fn Recipients(c: CampaignView) -> impl IntoView {
    let open = matches!(c.status, CampaignStatus::Running | CampaignStatus::Paused);
    let shown = c.recipients.len() as i64;
    view! {
        <section class="panel" aria-labelledby="recipients-heading">
            <h2 id="recipients-heading">"Recipients"</h2>
            <RepliedForm id=c.id open>
                <div class="table-wrap">
                    <table class="list recipients">
                        <caption class="visually-hidden">"Recipients and their steps"</caption>
                        <thead>
                            <tr>
                                {open.then(|| view! { <th scope="col">"Replied?"</th> })}
                                <th scope="col">"Recipient"</th>
                                <th scope="col">"State"</th>
                                <th scope="col">"Steps"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {c.recipients.iter().enumerate().map(|(i, r)| view! { <RecipientRow i r=r.clone() open /> }).collect_view()}
                        </tbody>
                    </table>
                </div>
                {(c.counts.recipients > shown).then(|| view! {
                    <p class="muted">{format!("The first {shown} of {} recipients are listed.", c.counts.recipients)}</p>
                })}
            </RepliedForm>
        </section>
    }
}

/// "Mark as replied", around the server-rendered recipients (`children`, whose
/// ticks and correction buttons belong to it). An island: a refusal shows in
/// place and keeps the pasted addresses.
#[island]
fn RepliedForm(id: Uuid, open: bool, children: Children) -> impl IntoView {
    let replied = ServerAction::<MarkReplied>::new();
    let error = action_error(replied);
    let addresses_error = field_error(error, "addresses");
    view! {
        <ActionForm action=replied attr:class="stack">
            <FormAlert error />
            <input type="hidden" name="id" value=id.to_string() />
            {children()}
            {open.then(|| view! {
                <div class="field" class:invalid=move || addresses_error.get().is_some()>
                    <label for="field-addresses">"Or paste the addresses of people who replied"</label>
                    <textarea id="field-addresses" name="addresses" rows="3" class="mono short"
                        placeholder="ada@example.com, grace@example.com"></textarea>
                    <p class="field-error">{move || addresses_error.get()}</p>
                </div>
                <div class="form-actions">
                    <button type="submit">"Mark as replied"</button>
                    <span class="muted">"They get no more steps."</span>
                </div>
            })}
        </ActionForm>
    }
}

#[component]
fn RecipientRow(i: usize, r: RecipientView, open: bool) -> impl IntoView {
    let tick = format!("replied-{}", r.id);
    view! {
        <tr>
            {open.then(|| view! {
                <td>
                    {r.state.is_open().then(|| view! {
                        <input type="checkbox" id=tick.clone() name=format!("recipients[{i}]") value=r.id.to_string() />
                        <label for=tick.clone() class="visually-hidden">{format!("{} replied", r.to)}</label>
                    })}
                </td>
            })}
            <td class="mono">{r.to.clone()}</td>
            <td>
                <span class=format!("status {}", r.state.as_str())>{r.state.label()}</span>
                {r.stopped.clone().map(|s| view! { <p class="muted">{s}</p> })}
                {r.notes.iter().map(|n| view! { <p class="muted">{n.clone()}</p> }).collect_view()}
                {r.correct.map(|c| {
                    let (label, aria) = match c {
                        crate::campaigns::Correction::GoOn => ("Not a reply: go on", format!("It was not a reply from {}: go on with the sequence", r.to)),
                        crate::campaigns::Correction::Stop => ("It was a reply: stop", format!("The automatic answer from {} was a reply: stop the sequence", r.to)),
                    };
                    view! {
                        <button type="submit" class="small" name="correct" value=format!("{}:{}", r.id, c.as_str())
                            aria-label=aria>{label}</button>
                    }
                })}
            </td>
            <td>
                <ol class="timeline">
                    {r.timeline.iter().map(|t| view! {
                        <li>
                            {format!("Step {}: {}", t.step, t.when)}
                            {t.gmail_id.clone().map(|g| view! { <span class="muted mono">{format!(" · Gmail {g}")}</span> })}
                            {t.error.clone().filter(|_| t.status != crate::domain::EmailStatus::Sent).map(|e| view! { <p class="muted">{e}</p> })}
                        </li>
                    }).collect_view()}
                </ol>
            </td>
        </tr>
    }
}
