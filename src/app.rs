//! The HTML shell, the root component and the routes.

use crate::pages::{
    account::AccountDeleted,
    admin::AdminPage,
    auth::{Login, Signup},
    campaigns::{CampaignPage, CampaignsPage},
    compose::ComposePage,
    dashboard::Dashboard,
    files::FilesPageView,
    landing::Landing,
    merge::{MergePage, MergeReportPage},
    not_found::NotFound,
    queue::QueuePageView,
    sent::SentPageView,
    settings::SettingsPage,
    suppression::SuppressionPageView,
    templates::{DeleteTemplatePage, EditTemplatePage, NewTemplatePage, TemplatesPage},
};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/mailmerger.css" />
        <Title formatter=|page: String| format!("{page} · MailMerger") />
        // In-order streaming: every page arrives complete, so it reads and works
        // before (or without) the wasm.
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Landing ssr=SsrMode::InOrder />
                <Route path=path!("/signup") view=Signup ssr=SsrMode::InOrder />
                <Route path=path!("/login") view=Login ssr=SsrMode::InOrder />
                <Route path=path!("/dashboard") view=Dashboard ssr=SsrMode::InOrder />
                <Route path=path!("/compose") view=ComposePage ssr=SsrMode::InOrder />
                <Route path=path!("/merge") view=MergePage ssr=SsrMode::InOrder />
                <Route path=path!("/merge/:id") view=MergeReportPage ssr=SsrMode::InOrder />
                <Route path=path!("/campaigns") view=CampaignsPage ssr=SsrMode::InOrder />
                <Route path=path!("/campaigns/:id") view=CampaignPage ssr=SsrMode::InOrder />
                <Route path=path!("/templates") view=TemplatesPage ssr=SsrMode::InOrder />
                <Route path=path!("/templates/new") view=NewTemplatePage ssr=SsrMode::InOrder />
                <Route path=path!("/templates/:id/edit") view=EditTemplatePage ssr=SsrMode::InOrder />
                <Route path=path!("/templates/:id/delete") view=DeleteTemplatePage ssr=SsrMode::InOrder />
                <Route path=path!("/queue") view=QueuePageView ssr=SsrMode::InOrder />
                <Route path=path!("/sent") view=SentPageView ssr=SsrMode::InOrder />
                <Route path=path!("/files") view=FilesPageView ssr=SsrMode::InOrder />
                <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::InOrder />
                <Route path=path!("/suppression") view=SuppressionPageView ssr=SsrMode::InOrder />
                <Route path=path!("/admin") view=AdminPage ssr=SsrMode::InOrder />
                <Route path=path!("/account/deleted") view=AccountDeleted ssr=SsrMode::InOrder />
            </Routes>
        </Router>
    }
}
