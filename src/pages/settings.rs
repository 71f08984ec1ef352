//! Settings: connect or disconnect Gmail, how mail is paced, and the account
//! itself (`pages::account`).

use crate::components::form::{
    FormAlert, Missing, PostForm, TextField, action_error, field_error, loaded,
};
use crate::components::shell::AppShell;
use crate::settings::{
    DisconnectGmail, GmailView, SaveSettings, SettingsView, get_settings, gmail_message,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let query = use_query_map();
    let outcome = move || query.read().get("gmail").and_then(|c| gmail_message(&c));
    let replies_outcome = move || {
        query
            .read()
            .get("replies")
            .and_then(|c| crate::replies::replies_message(&c))
    };
    let saved = move || query.read().get("saved").is_some();
    let settings = crate::components::data::load(|| (), |_| get_settings());
    view! {
        <AppShell title="Settings">
            {move || outcome().map(|(ok, message)| if ok {
                view! { <div class="success" role="status">{message}</div> }.into_any()
            } else {
                view! { <div class="alert" role="alert">{message}</div> }.into_any()
            })}
            {move || replies_outcome().map(|(ok, message)| if ok {
                view! { <div class="success" role="status">{message}</div> }.into_any()
            } else {
                view! { <div class="alert" role="alert">{message}</div> }.into_any()
            })}
            {move || saved().then(|| view! { <div class="success" role="status">"Saved your settings."</div> })}
            {loaded(
                settings,
                "Loading your settings…",
                Missing { not_found: "Your settings could not be found.", back_href: "/dashboard", back_label: "Back to the dashboard" },
                |s| view! {
                    <GmailSection s=s.clone() />
                    {s.replies.clone().map(|r| view! { <RepliesSection r connected=s.gmail.as_ref().is_some_and(|g| g.status == "connected") /> })}
                    <SendingSection
                        time_zone=s.time_zone.clone()
                        daily_send_cap=s.daily_send_cap
                        send_gap_seconds=s.send_gap_seconds
                        sent_last_24h=s.sent_last_24h
                    />
                },
            )}
            <crate::pages::account::AccountSections />
        </AppShell>
    }
}

#[component]
fn ConnectButton(label: &'static str) -> impl IntoView {
    // A plain form: the browser goes to Google and comes back, with or without wasm.
    view! {
        <form method="post" action="/auth/google/connect" class="inline-form">
            <button type="submit" class="primary">{label}</button>
        </form>
    }
}

#[component]
fn GmailSection(s: SettingsView) -> impl IntoView {
    let body = match (s.transport.as_str(), s.gmail) {
        ("outbox", _) => view! {
            <p>
                "This server has no Google client configured, so nothing is sent to real recipients: every message is written as an "
                <code>".eml"</code> " file in " <code>{s.outbox_dir.unwrap_or_default()}</code> " (the local outbox)."
            </p>
            <p class="muted">"Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET to send through Gmail."</p>
        }.into_any(),
        ("smtp", _) => view! {
            <p>"This server sends through its own SMTP server (SMTP_URL), not through Gmail."</p>
        }.into_any(),
        (_, Some(GmailView { email, status, scopes, problem })) if status == "connected" => view! {
            <p>"Connected as " <strong class="mono">{email}</strong> ". Your mail goes out from this address."</p>
            <p class="muted">"Permissions granted: " {scopes.iter().map(|s| s.rsplit('/').next().unwrap_or(s).to_string()).collect::<Vec<_>>().join(", ")}</p>
            {problem.map(|p| view! { <p class="alert">{p}</p> })}
            <PostForm path={<DisconnectGmail as ServerFn>::PATH} class="inline-form">
                <button type="submit" class="danger">"Disconnect Gmail"</button>
            </PostForm>
        }.into_any(),
        (_, Some(GmailView { status, problem, email, .. })) if status == "disconnected" => view! {
            <div class="alert" role="alert">
                <p>{problem.unwrap_or_else(|| "Google no longer accepts MailMerger's access.".into())}</p>
                <p>{format!("Your queued mail is held until you reconnect {email}.")}</p>
            </div>
            <ConnectButton label="Reconnect Gmail" />
        }.into_any(),
        _ => view! {
            <p>"Connect your Gmail account to send from your own address. MailMerger asks only for permission to send email, never to read it."</p>
            <ConnectButton label="Connect Gmail" />
        }.into_any(),
    };
    view! {
        <section class="settings-section" aria-labelledby="gmail-heading">
            <h2 id="gmail-heading">"Gmail"</h2>
            {body}
        </section>
    }
}

/// Stop on reply: what it reads, that Google calls the permission
/// restricted, and how it is doing.
#[component]
fn RepliesSection(r: crate::replies::RepliesView, connected: bool) -> impl IntoView {
    let explain = view! {
        <p>
            "When someone answers a campaign message, MailMerger can end their sequence by itself. It reads the "
            <strong>"headers and labels"</strong>
            " of new mail in your Gmail (who it is from, its subject, its thread), never the text of a message, and only while a campaign is running or a send is uncertain."
        </p>
        <p class="muted">
            "Google lists this permission (gmail.metadata) as restricted: a MailMerger server that others use needs Google's security assessment before it may ask for it. Without it, mark replies by hand on the campaign page."
        </p>
    };
    let state = if r.enabled {
        let status = match (&r.problem, &r.checked) {
            (Some(p), _) => view! {
                <div class="alert" role="alert">
                    <p>{format!("Reading your mailbox does not work now: {p}")}</p>
                    <p>"Follow-ups wait until it works again: none goes without a check. Turn stop on reply off to send them without one, or turn it on again to grant access."</p>
                </div>
            }.into_any(),
            (None, Some(t)) => view! { <p class="success" role="status">{format!("On. Your mailbox was last read {t}.")}</p> }.into_any(),
            (None, None) => view! { <p class="muted">"On. The first read starts a fresh place in your mailbox: what arrived before it is not looked at."</p> }.into_any(),
        };
        view! {
            {status}
            {r.recovered.map(|t| view! { <p class="muted">{format!("Gmail had forgotten where the last read stopped ({t}); MailMerger read back through your recent mail instead.")}</p> })}
            {(r.unattributed_bounces > 0).then(|| view! {
                <p class="muted">{format!(
                    "{} bounce(s) named no recipient of a running campaign. Check these addresses; add them to your suppression list if they are gone:",
                    r.unattributed_bounces
                )}</p>
                <ul class="bounces">
                    {r.bounces.iter().map(|(when, failed)| view! {
                        <li>{when.clone()} ": " <span class="mono">{if failed.is_empty() { "(no address named)".to_string() } else { failed.join(", ") }}</span></li>
                    }).collect_view()}
                </ul>
            })}
            {(r.problem.is_some() || !r.granted).then(|| view! {
                <form method="post" action="/auth/google/replies" class="inline-form">
                    <button type="submit" class="primary">"Grant access again"</button>
                </form>
            })}
            <PostForm path={<crate::replies::RepliesOff as ServerFn>::PATH} class="inline-form">
                <button type="submit">"Turn stop on reply off"</button>
            </PostForm>
        }.into_any()
    } else if connected {
        view! {
            <form method="post" action="/auth/google/replies" class="inline-form">
                <button type="submit" class="primary">"Turn on stop on reply"</button>
            </form>
        }
        .into_any()
    } else {
        view! { <p class="muted">"Connect Gmail first: stop on reply reads the mailbox you send from."</p> }.into_any()
    };
    view! {
        <section class="settings-section" aria-labelledby="replies-heading">
            <h2 id="replies-heading">"Stop on reply"</h2>
            {explain}
            {state}
        </section>
    }
}

/// An island: a refusal shows next to its field and keeps what was typed.
#[island]
fn SendingSection(
    time_zone: String,
    daily_send_cap: i32,
    send_gap_seconds: i32,
    sent_last_24h: i64,
) -> impl IntoView {
    let action = ServerAction::<SaveSettings>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
        <section class="settings-section" aria-labelledby="sending-heading">
            <h2 id="sending-heading">"Sending"</h2>
            <p class="muted">{format!(
                "In the last 24 hours you sent to {} of your {} recipients a day.",
                sent_last_24h, daily_send_cap
            )}</p>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <FormAlert error />
                <TextField
                    label="Time zone"
                    name="time_zone"
                    value=time_zone
                    hint="Scheduled times are read in this zone. An IANA name, such as Europe/Berlin."
                    error=field_error(error, "time_zone")
                />
                <TextField
                    label="Daily sending cap"
                    name="daily_send_cap"
                    kind="number"
                    value=daily_send_cap.to_string()
                    hint="Recipients per rolling 24 hours. Gmail allows about 500 a day (2,000 for Workspace)."
                    validate=|v| crate::settings::parse_cap(v).err()
                    error=field_error(error, "daily_send_cap")
                />
                <TextField
                    label="Gap between sends (seconds)"
                    name="send_gap_seconds"
                    kind="number"
                    value=send_gap_seconds.to_string()
                    hint="0 sends as fast as Gmail allows. A gap is varied randomly by up to half, which looks less like a robot."
                    validate=|v| crate::settings::parse_gap(v).err()
                    error=field_error(error, "send_gap_seconds")
                />
                <button type="submit" class="primary" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save settings" }}
                </button>
            </ActionForm>
        </section>
    }
}
