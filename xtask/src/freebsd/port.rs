//! The overlay port `ports/mail/sendmail-tls`: pure renderers from data, and
//! the thin edge that gathers the data and writes the files.
