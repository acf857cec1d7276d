//! The sign task: render → sign → archive (documents work).
