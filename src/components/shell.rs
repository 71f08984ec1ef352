//! The frame of every logged-in page: navigation, the user, and "Log out".
//! Rendered on the server only (no island): a logged-out visitor never gets
//! here (`server::login_gate` sends them to log in), and every link is a page
//! load.

use crate::auth::{Logout, current_user};
use crate::components::form::PostForm;
use crate::domain::UserView;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

const NAV: &[(&str, &str)] = &[
    ("/dashboard", "Dashboard"),
    ("/compose", "Write email"),
    ("/merge", "Mail merge"),
    ("/campaigns", "Campaigns"),
    ("/templates", "Templates"),
    ("/queue", "Queue"),
    ("/sent", "Sent"),
    ("/files", "Files"),
    ("/suppression", "Suppression"),
    ("/settings", "Settings"),
];

#[component]
fn NavLinks(user: UserResource) -> impl IntoView {
    let location = use_location();
    let admin = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|u| u.admin)
            .then(|| {
                let current = move || (location.pathname.get() == "/admin").then_some("page");
                view! { <li><a href="/admin" aria-current=current>"Admin"</a></li> }
            })
    };
    let links = NAV
        .iter()
        .map(|&(href, label)| {
            let current = move || (location.pathname.get() == href).then_some("page");
            view! {
                <li>
                    <a href=href aria-current=current>
                        {label}
                    </a>
                </li>
            }
        })
        .collect_view();
    view! { {links} <Suspense fallback=|| ()>{admin}</Suspense> }
}

type UserResource = crate::components::data::Loaded<Option<UserView>>;

#[component]
fn Account(user: UserResource) -> impl IntoView {
    view! {
        <div class="account">
            <Suspense fallback=|| ()>
                {move || {
                    user.get()
                        .and_then(Result::ok)
                        .flatten()
                        .map(|u| {
                            view! {
                                <p class="who">
                                    <span class="who-name">{u.name}</span>
                                    <span class="who-email">{u.email}</span>
                                </p>
                            }
                        })
                }}
            </Suspense>
            <PostForm path={<Logout as ServerFn>::PATH}>
                <button type="submit" class="link-button">
                    "Log out"
                </button>
            </PostForm>
        </div>
    }
}

/// Wraps a logged-in page. `title` is the page's heading and its document title.
#[component]
pub fn AppShell(title: &'static str, children: Children) -> impl IntoView {
    let user: UserResource = crate::components::data::load(|| (), |_| current_user());
    view! {
        <Title text=title />
        <div class="app">
            <header class="sidebar">
                <a class="brand" href="/dashboard">
                    "MailMerger"
                </a>
                <nav class="nav-wide" aria-label="Main">
                    <ul>
                        <NavLinks user />
                    </ul>
                </nav>
                <div class="account-wide">
                    <Account user />
                </div>
                <details class="nav-narrow">
                    <summary>"Menu"</summary>
                    <nav aria-label="Main (menu)">
                        <ul>
                            <NavLinks user />
                        </ul>
                    </nav>
                    <Account user />
                </details>
            </header>
            <main class="content">
                <Suspense fallback=|| ()>
                    {move || user.get().and_then(Result::ok).flatten().filter(|u| u.gmail_disconnected).map(|_| view! {
                        <div class="banner" role="alert">
                            <p>"Google no longer accepts MailMerger's access to your Gmail, so your mail is held. Reconnect to send it."</p>
                            <form method="post" action="/auth/google/connect">
                                <button type="submit" class="primary">"Reconnect Gmail"</button>
                            </form>
                        </div>
                    })}
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || user.get().and_then(Result::ok).flatten().filter(|u| !u.email_verified).map(|u| view! {
                        <aside class="banner notice" aria-label="Verify your address">
                            <p>{format!("Please verify your email address: we sent a link to {}.", u.email)}</p>
                            {u.system_outbox.map(|dir| view! {
                                <p class="hint">"This server has no mail server for its own mail, so the message is saved as a " <code>".eml"</code> " file in " <code>{dir}</code> " on the server."</p>
                            })}
                            <form method="post" action="/account/verify/resend">
                                <button type="submit">"Send the link again"</button>
                            </form>
                        </aside>
                    })}
                </Suspense>
                <h1>{title}</h1>
                {children()}
            </main>
        </div>
    }
}
