//! Builder setters that store their argument, written once.

/// Expands to one `pub fn $name(mut self, value: impl Into<$ty>) -> Self` per line, each
/// storing `value` in `self.$field`, with the doc comments and attributes given before it.
macro_rules! setters {
    ($( $(#[$attr:meta])* $name:ident => $field:ident: $ty:ty; )*) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self, value: impl Into<$ty>) -> Self {
                self.$field = value.into();
                self
            }
        )*
    };
}
