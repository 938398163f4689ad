//! The media library (issue 14), built up in steps. Here so far: what an
//! upload is, decided from its bytes before anything decodes it
//! (`inspect`). Storage, renditions and the `/media` API come next.

pub mod inspect;
pub mod storage;
