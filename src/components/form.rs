//! Form fields with a visible label, a hint, and their error next to them.

use crate::error::AppError;
use leptos::prelude::*;

/// The error of the last submission of a server action, if any.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// The message for `field` in the last error.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
}

/// A labelled input. `validate` runs in the browser when the field changes, so the
/// user learns of a mistake early; typing is never blocked. The server's error for
/// the field shows until the field is edited.
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] validate: Option<fn(&str) -> Option<String>>,
    #[prop(into)] error: Signal<Option<String>>,
    /// The input's id when two forms on one page share a field name
    /// (`field-<name>` otherwise); the label points at it.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    let id = id.map_or_else(|| format!("field-{name}"), str::to_string);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = match hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };

    let local = RwSignal::new(None::<String>);
    let edited = RwSignal::new(false);
    Effect::new(move |_| {
        error.track();
        edited.set(false);
    });
    let shown = Signal::derive(move || {
        local
            .get()
            .or_else(|| if edited.get() { None } else { error.get() })
    });
    let on_change = move |ev| {
        if let Some(check) = validate {
            local.set(check(&event_target_value(&ev)));
        }
    };
    let on_input = move |ev| {
        edited.set(true);
        if let (Some(check), true) = (validate, local.get_untracked().is_some()) {
            local.set(check(&event_target_value(&ev)));
        }
    };

    view! {
        <div class="field" class:invalid=move || shown.get().is_some()>
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                type=kind
                name=name
                value=value
                autocomplete=autocomplete
                aria-invalid=move || if shown.get().is_some() { "true" } else { "false" }
                aria-describedby=described_by
                on:change=on_change
                on:input=on_input
            />
            <p class="field-error" id=error_id>
                {move || shown.get()}
            </p>
        </div>
    }
}

/// "When": as soon as possible, or at a date and time in the user's zone
/// (`when` and `send_at`, as the queueing server functions read them).
#[component]
pub fn WhenField(
    time_zone: String,
    #[prop(into)] error: Signal<Option<String>>,
    /// The server-function argument the inputs belong to (`message[when]`).
    #[prop(optional)]
    form: Option<&'static str>,
) -> impl IntoView {
    let when = input_name(form, "when");
    view! {
        <fieldset class="when">
            <legend>"When"</legend>
            <label class="choice"><input type="radio" name=when.clone() value="now" checked=true />" As soon as possible"</label>
            <label class="choice"><input type="radio" name=when value="later" />" At a time I choose"</label>
            <div class="field" class:invalid=move || error.get().is_some()>
                <label for="field-send_at">{format!("Date and time ({time_zone})")}</label>
                <input id="field-send_at" name=input_name(form, "send_at") type="datetime-local" />
                <p class="field-error">{move || error.get()}</p>
            </div>
        </fieldset>
    }
}

/// An input's name: `field`, or `form[field]` inside a server function's struct
/// argument (`attach[0]` becomes `message[attach][0]`).
pub fn input_name(form: Option<&str>, field: &str) -> String {
    match form {
        None => field.to_string(),
        Some(form) => match field.split_once('[') {
            Some((head, rest)) => format!("{form}[{head}][{rest}"),
            None => format!("{form}[{field}]"),
        },
    }
}

/// A form posted straight to a server function, for a control whose result is
/// a new page (log out, pause, delete): the browser sends it and follows the
/// answer's redirect, with or without the wasm. Unlike `ActionForm` it adds no
/// client-side code for the function to the bundle (docs/operations.md, "The browser
/// bundle"). A refusal comes back in the address (leptos' `__err`/`__path`) and
/// shows at the top of the form, as `ActionForm`'s would.
/// `path` is the server function's `ServerFn::PATH`.
#[component]
pub fn PostForm(
    path: &'static str,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let error = Signal::stored(posted_error(path));
    view! {
        <form method="post" action=path class=class>
            <FormAlert error />
            {children()}
        </form>
    }
}

/// The refusal of the last plain post to the server function at `path`, if the
/// page was redirected here with one (for the field errors of a [`PostForm`]).
pub fn posted_error(path: &'static str) -> Option<AppError> {
    use leptos::server::ServerActionError;
    use leptos::server_fn::error::ServerFnUrlError;
    use_context::<ServerActionError>()
        .filter(|e| e.path() == path)
        .map(|e| ServerFnUrlError::<AppError>::decode_err(e.err()))
}

/// The message about the form as a whole (not about one field).
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.form_message()).map(|message| {
            view! {
                <div class="alert" role="alert">
                    {message}
                </div>
            }
        })
    }
}

/// What a page shows when the thing it loads cannot be had: "not found" in the
/// page's own words with a way back, or the error's own message.
#[component]
pub fn LoadError(
    error: AppError,
    not_found: &'static str,
    back_href: &'static str,
    back_label: &'static str,
) -> impl IntoView {
    let message = match error {
        AppError::NotFound => not_found.to_string(),
        other => other.to_string(),
    };
    view! {
        <div class="alert" role="alert">{message}</div>
        <p><a href=back_href>{back_label}</a></p>
    }
}

/// Where a page sends the user when what it loads does not exist.
#[derive(Debug, Clone, Copy)]
pub struct Missing {
    pub not_found: &'static str,
    pub back_href: &'static str,
    pub back_label: &'static str,
}

/// A page body that loads one thing: `loading` while it comes, then `render` with
/// it, or [`LoadError`] in the page's own words.
pub fn loaded<T, V>(
    resource: crate::components::data::Loaded<T>,
    loading: &'static str,
    missing: Missing,
    render: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=move || view! { <p class="muted">{loading}</p> }>
            {move || {
                let render = render.clone();
                resource
                    .get()
                    .map(move |result| match result {
                        Ok(value) => render(value).into_any(),
                        Err(error) => {
                            view! {
                                <LoadError
                                    error
                                    not_found=missing.not_found
                                    back_href=missing.back_href
                                    back_label=missing.back_label
                                />
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::input_name;

    #[test]
    fn inputs_inside_a_struct_argument_nest_their_names() {
        assert_eq!(input_name(None, "when"), "when");
        assert_eq!(input_name(Some("message"), "when"), "message[when]");
        assert_eq!(
            input_name(Some("message"), "attach[0]"),
            "message[attach][0]"
        );
    }
}
