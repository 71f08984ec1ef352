//! Choosing files to attach: the resume, the cover letter and any attachment.

use crate::files::FileView;
use leptos::prelude::*;
use uuid::Uuid;

/// A checkbox per file. `indexed` names them `attach[0]`, `attach[1]`… for a
/// server function's form (inside `form[…]` when `form` is given); otherwise
/// each is `attach` (a GET form's query).
#[component]
pub fn AttachField(
    files: Vec<FileView>,
    chosen: Vec<Uuid>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = true)] indexed: bool,
    #[prop(optional)] form: Option<&'static str>,
    #[prop(default = "Attachments")] legend: &'static str,
    /// Names the inputs `<scope>[attach][i]` (one of several lists on a page,
    /// such as a campaign step's), and keeps their ids apart.
    #[prop(optional, into)]
    scope: Option<String>,
) -> impl IntoView {
    view! {
        <fieldset class="attach" class:invalid=move || error.get().is_some()>
            <legend>{legend}</legend>
            {if files.is_empty() {
                view! {
                    <p class="muted">
                        "No files yet. Upload your resume, cover letter or other files on the "
                        <a href="/files">"Files"</a> " page."
                    </p>
                }
                    .into_any()
            } else {
                files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let (id, name) = match &scope {
                            Some(scope) => {
                                let slug: String = scope
                                    .chars()
                                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                                    .collect();
                                (format!("field-{slug}-attach-{}", f.id), format!("{scope}[attach][{i}]"))
                            }
                            None => (
                                format!("field-attach-{}", f.id),
                                if indexed {
                                    crate::components::form::input_name(form, &format!("attach[{i}]"))
                                } else {
                                    "attach".to_string()
                                },
                            ),
                        };
                        view! {
                            <div class="choice">
                                <input type="checkbox" id=id.clone() name=name value=f.id.to_string()
                                    checked=chosen.contains(&f.id) />
                                <label for=id>{f.choice_label()}</label>
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
            <p class="field-error">{move || error.get()}</p>
        </fieldset>
    }
}
