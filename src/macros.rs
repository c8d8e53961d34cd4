//! The crate's small macros, written once: builder setters that store their argument, the
//! inner-service accessors of a middleware, and unit error types.

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

/// A public unit error type: `Debug`, `Clone`, `PartialEq`, `Eq`, a `Display` of `$message`,
/// and `std::error::Error`.
macro_rules! unit_error {
    ($(#[$attr:meta])* $name:ident, $message:literal) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name;

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($message)
            }
        }

        impl std::error::Error for $name {}
    };
}
