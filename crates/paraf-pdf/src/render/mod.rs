//! Rendering documents from layouts (owned by the rendering work).
