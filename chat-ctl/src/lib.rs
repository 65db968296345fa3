//! chat-ctl's command line as a library: the binary parses it, and
//! tools/cli-docs writes chat-ctl's man pages and shell completions from the
//! same definition.

pub mod cli;
