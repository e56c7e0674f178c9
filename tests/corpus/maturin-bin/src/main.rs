// Prints its name and version; the argument decides nothing else.
fn main() {
    if std::env::args().any(|arg| arg == "--version") {
        println!("corpus-rs {}", env!("CARGO_PKG_VERSION"));
    }
}
