//! Sign up and log in. Both work before the wasm loads (plain form posts with
//! server redirects) and, with it, keep what was typed when there is an error.

use crate::auth::{Login, Signup};
use crate::components::form::{FormAlert, TextField, action_error, field_error};
use crate::domain::{EmailAddress, Password, PersonName};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// What the login page says for `?google=<code>` after a Google round trip.
pub fn google_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "denied" => "You cancelled signing in with Google.",
        "email_taken" => {
            "An account with this email already exists. Please log in with your password, then connect Google from Settings."
        }
        "expired" => "That sign-in took too long or was already used. Please try again.",
        "unverified" => {
            "Google has not verified that email address, so it cannot be used to sign in."
        }
        "not_configured" => "Sign in with Google is not set up on this server.",
        "signup_closed" => crate::auth::SIGNUP_CLOSED,
        "suspended" => "This account is suspended. Ask whoever runs this server.",
        "signup_domain" => {
            "Sign-up here is only for Google accounts of the organisation that runs this server."
        }
        "failed" => "Google could not be reached or refused the request. Please try again.",
        _ => return None,
    })
}

/// "Sign in with Google": a plain form, so it works before the wasm loads. Shown
/// only when the server has a Google client.
#[component]
fn GoogleSignIn(#[prop(into)] next: Signal<String>) -> impl IntoView {
    let enabled = crate::components::data::load(|| (), |_| crate::settings::google_enabled());
    view! {
        <Suspense fallback=|| ()>
            {move || enabled.get().and_then(Result::ok).filter(|on| *on).map(|_| view! {
                <div class="divider" role="presentation"><span>"or"</span></div>
                <form method="post" action="/auth/google/login">
                    <input type="hidden" name="next" value=move || next.get() />
                    <button type="submit" class="google-button">"Sign in with Google"</button>
                </form>
            })}
        </Suspense>
    }
}

#[component]
fn GoogleOutcome() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        if q.get("reset").as_deref() == Some("done") {
            return Some(view! {
                <div class="success" role="status">"Your password is changed and you are logged out everywhere. Log in with the new one."</div>
            }.into_any());
        }
        q.get("google")
            .and_then(|c| google_message(&c))
            .map(|m| view! { <div class="alert" role="alert">{m}</div> }.into_any())
    }
}

fn check_name(v: &str) -> Option<String> {
    PersonName::parse(v).err()
}

fn check_email(v: &str) -> Option<String> {
    EmailAddress::parse(v).err()
}

fn check_new_password(v: &str) -> Option<String> {
    Password::parse(v.to_string()).err()
}

#[component]
pub fn Signup() -> impl IntoView {
    view! {
        <Title text="Sign up" />
        <main class="centered">
            <section class="card">
                <p class="brand">
                    <a href="/">"MailMerger"</a>
                </p>
                <h1>"Create your account"</h1>
                <GoogleOutcome />
                <SignupForm />
                <GoogleSignIn next=Signal::derive(String::new) />
                <p class="aside">"Already have an account? " <a href="/login">"Log in"</a></p>
            </section>
        </main>
    }
}

/// An island: with the wasm, a refusal shows next to the fields and keeps what
/// was typed.
#[island]
fn SignupForm() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
                <ActionForm action attr:novalidate=true attr:class="stack">
                    <FormAlert error />
                    <TextField
                        label="Name"
                        name="name"
                        autocomplete="name"
                        validate=check_name
                        error=field_error(error, "name")
                    />
                    <TextField
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="email"
                        validate=check_email
                        error=field_error(error, "email")
                    />
                    <TextField
                        label="Password"
                        name="password"
                        kind="password"
                        autocomplete="new-password"
                        hint="At least 8 characters. A few words make a good password."
                        validate=check_new_password
                        error=field_error(error, "password")
                    />
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Creating your account…" } else { "Create account" }}
                    </button>
                </ActionForm>
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();

    view! {
        <Title text="Log in" />
        <main class="centered">
            <section class="card">
                <p class="brand">
                    <a href="/">"MailMerger"</a>
                </p>
                <h1>"Log in"</h1>
                <GoogleOutcome />
                <LoginForm next=next() />
                <p class="aside"><a href="/forgot" rel="external">"Forgot your password?"</a></p>
                <GoogleSignIn next=Signal::derive(next) />
                <p class="aside">"New to MailMerger? " <a href="/signup">"Create an account"</a></p>
            </section>
        </main>
    }
}

/// An island, as [`SignupForm`]; `next` is where to go after.
#[island]
fn LoginForm(next: String) -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
                <ActionForm action attr:novalidate=true attr:class="stack">
                    <FormAlert error />
                    <input type="hidden" name="next" value=next />
                    <TextField
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="username"
                        error=field_error(error, "email")
                    />
                    <TextField
                        label="Password"
                        name="password"
                        kind="password"
                        autocomplete="current-password"
                        error=field_error(error, "password")
                    />
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Logging in…" } else { "Log in" }}
                    </button>
                </ActionForm>
    }
}
