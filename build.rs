// Re-embed migrations when one is added (sqlx::migrate! reads the folder at compile time).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
