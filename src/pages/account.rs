//! Settings' account sections: the address (verified or not, and changing it),
//! the password, and the sessions (docs/accounts.md). The session buttons are
//! plain forms posting to their server functions, which redirect back: they
//! need no code in the page.

use crate::accounts::{ChangeEmail, ChangePassword, DeleteAccount, SessionView, get_account};
use crate::components::form::{FormAlert, Missing, TextField, action_error, field_error, loaded};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// What Settings says for `?sessions=`, `?password=` and `?email=`.
pub fn account_message(key: &str, code: &str) -> Option<&'static str> {
    Some(match (key, code) {
        ("sessions", "ended") => "That session is logged out.",
        ("sessions", "others_ended") => "You are logged out everywhere else.",
        ("password", "changed") => {
            "Your password is changed, and you are logged out everywhere else. We mailed you a notice."
        }
        ("email", "sent") => {
            "We sent a link to the new address. Your account keeps its current address until you follow it."
        }
        _ => return None,
    })
}

#[component]
pub fn AccountSections() -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let q = query.read();
        ["sessions", "password", "email"]
            .iter()
            .find_map(|k| q.get(k).and_then(|c| account_message(k, &c)))
    };
    let account = crate::components::data::load(|| (), |_| get_account());
    view! {
        {move || notice().map(|m| view! { <div class="success" role="status">{m}</div> })}
        {loaded(
            account,
            "Loading your account…",
            Missing { not_found: "Your account could not be found.", back_href: "/dashboard", back_label: "Back to the dashboard" },
            |a| view! {
                <AddressSection
                    email=a.email.clone()
                    email_verified=a.email_verified
                    pending_email=a.pending_email.clone()
                    outbox=a.outbox.clone()
                />
                <PasswordSection has_password=a.has_password />
                <SessionsSection sessions=a.sessions />
                <DataSection has_password=a.has_password />
            },
        )}
    }
}

fn outbox_note(outbox: Option<String>) -> impl IntoView {
    outbox.map(|dir| {
        view! {
            <p class="hint">
                "This server has no mail server for its own mail, so the message is saved as a "
                <code>".eml"</code> " file in " <code>{dir}</code> " on the server."
            </p>
        }
    })
}

#[island]
fn AddressSection(
    email: String,
    email_verified: bool,
    pending_email: Option<String>,
    outbox: Option<String>,
) -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    let error = action_error(action);
    let pending = action.pending();
    let status = if email_verified {
        view! { <p>"Your address is " <strong class="mono">{email.clone()}</strong> " (verified)."</p> }.into_any()
    } else {
        view! {
            <p>"Your address is " <strong class="mono">{email.clone()}</strong> ", not verified yet. Follow the link we mailed to it."</p>
            {outbox_note(outbox.clone())}
            <form method="post" action="/account/verify/resend" class="inline-form">
                <button type="submit">"Send the link again"</button>
            </form>
        }
        .into_any()
    };
    view! {
        <section class="settings-section" id="address" aria-labelledby="address-heading">
            <h2 id="address-heading">"Email address"</h2>
            {status}
            {pending_email.map(|p| view! {
                <p class="muted">{format!("Waiting for you to confirm {p}: we sent a link there.")}</p>
                {outbox_note(outbox.clone())}
            })}
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <FormAlert error />
                <TextField
                    label="New address"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    hint="We send a link to it; the change takes effect when you follow it."
                    error=field_error(error, "email")
                />
                <TextField
                    label="Your password"
                    id="field-address-password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(error, "password")
                />
                <button type="submit" class="primary" disabled=move || pending.get()>
                    {move || if pending.get() { "Sending…" } else { "Change address" }}
                </button>
            </ActionForm>
        </section>
    }
}

#[island]
fn PasswordSection(has_password: bool) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
        <section class="settings-section" id="password" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            {(!has_password).then(|| view! {
                <p class="muted">"You sign in with Google. Set a password to log in with your address as well."</p>
            })}
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <FormAlert error />
                {if has_password {
                    view! {
                        <TextField
                            label="Current password"
                            name="current"
                            kind="password"
                            autocomplete="current-password"
                            error=field_error(error, "current")
                        />
                    }.into_any()
                } else {
                    view! { <input type="hidden" name="current" value="" /> }.into_any()
                }}
                <TextField
                    label="New password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 8 characters. Setting it logs you out everywhere else."
                    validate=|v| crate::domain::Password::parse(v.to_string()).err()
                    error=field_error(error, "password")
                />
                <button type="submit" class="primary" disabled=move || pending.get()>
                    {move || match (pending.get(), has_password) {
                        (true, _) => "Saving…",
                        (false, true) => "Change password",
                        (false, false) => "Set password",
                    }}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsSection(sessions: Vec<SessionView>) -> impl IntoView {
    let others = sessions.iter().filter(|s| !s.current).count();
    view! {
        <section class="settings-section" id="sessions" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p class="muted">"Where your account is logged in. Log out of any you do not recognise, then change your password."</p>
            <ul class="sessions">
                {sessions.into_iter().map(|s| {
                    let label = format!("Log out {} ({})", s.browser, s.ip);
                    view! {
                        <li class="session">
                            <p>
                                <strong>{s.browser.clone()}</strong>
                                {s.current.then(|| view! { " " <span class="badge">"This session"</span> })}
                            </p>
                            <p class="muted">{format!("IP {} · started {} · last seen {}", s.ip, s.started, s.last_seen)}</p>
                            {(!s.current).then(|| view! {
                                <form method="post" action="/api/account/sessions/end" class="inline-form">
                                    <input type="hidden" name="id" value=s.id.clone() />
                                    <button type="submit" aria-label=label>"Log out"</button>
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(others > 0).then(|| view! {
                <form method="post" action="/api/account/sessions/end_others" class="inline-form">
                    <button type="submit" class="danger">"Log out everywhere else"</button>
                </form>
            })}
        </section>
    }
}

/// Download my data, and delete the account (saying first what goes).
#[island]
fn DataSection(has_password: bool) -> impl IntoView {
    let action = ServerAction::<DeleteAccount>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
        <section class="settings-section" id="delete" aria-labelledby="data-heading">
            <h2 id="data-heading">"Your data"</h2>
            <p>
                "Download everything in one zip: your templates, contacts, suppression list and every message as CSV, and your files as you uploaded them."
            </p>
            <p><a class="button" href="/account/export" rel="external" download>"Download my data"</a></p>
            <h3>"Delete my account"</h3>
            <p>"Deleting your account cannot be undone. It:"</p>
            <ul>
                <li>"cancels your queued mail and campaigns first, so nothing more is sent;"</li>
                <li>"revokes MailMerger's access to your Gmail;"</li>
                <li>"deletes your templates, files (from storage too), campaigns, sent history, suppression list and settings;"</li>
                <li>"logs you out everywhere."</li>
            </ul>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <FormAlert error />
                {if has_password {
                    view! {
                        <TextField
                            label="Your password, to confirm"
                            id="field-delete-password"
                            name="password"
                            kind="password"
                            autocomplete="current-password"
                            error=field_error(error, "password")
                        />
                    }.into_any()
                } else {
                    view! {
                        <input type="hidden" name="password" value="" />
                        <p class="field-error">{move || field_error(error, "password").get()}</p>
                    }.into_any()
                }}
                <button type="submit" class="danger" disabled=move || pending.get()>
                    {move || if pending.get() { "Deleting…" } else { "Delete my account" }}
                </button>
            </ActionForm>
            {(!has_password).then(|| view! {
                <p class="muted">"You sign in with Google: sign in again to confirm, then delete within 10 minutes."</p>
                <form method="post" action="/auth/google/login" class="inline-form">
                    <input type="hidden" name="next" value="/settings" />
                    <button type="submit">"Sign in with Google again"</button>
                </form>
            })}
        </section>
    }
}

/// Where "Delete my account" lands (a page of the app, so that the hydrated
/// form's redirect can reach it; public, as its user is gone).
#[component]
pub fn AccountDeleted() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Account deleted" />
        <main class="centered">
            <section class="card">
                <h1>"Your account is deleted"</h1>
                <p>"Your templates, files, campaigns, messages and sessions are gone, and MailMerger's access to your Gmail is revoked. Files are removed from storage within minutes."</p>
                <p><a href="/">"Back to MailMerger"</a></p>
            </section>
        </main>
    }
}
