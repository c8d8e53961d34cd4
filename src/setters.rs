//! Builder setters that store their argument, written once.

/// Expands to one `pub fn $name(mut self, value: impl Into<$ty>) -> Self` per line, each
/// storing `value` in `self.$field` (a field, or a path of fields such as `config.staleness`),
/// with the doc comments and attributes given before it.
macro_rules! setters {
    ($( $(#[$attr:meta])* $name:ident => $($field:ident).+ : $ty:ty; )*) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self, value: impl Into<$ty>) -> Self {
                self.$($field).+ = value.into();
                self
            }
        )*
    };
}

/// `get_ref`, `get_mut` and `into_inner` for a middleware service whose wrapped service is
/// its `inner` field, as every tower middleware has them.
macro_rules! inner_service_accessors {
    ($service:ident) => {
        impl<S> $service<S> {
            /// The inner service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The inner service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the inner service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}
