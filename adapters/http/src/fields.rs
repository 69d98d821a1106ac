//! Typed request bodies read through the strict extractors.
//!
//! A body type is declared once with [`wire_body!`]: the macro writes the struct (whose
//! `ToSchema` is the documented request body) and its [`FromFields`] reading, from the same
//! list of wire names, so the OpenAPI document and what the handler reads cannot differ.
//! The reading keeps the extractors' rules: every missing (or, in JSON, mistyped) required
//! field is reported in one 422, then the optional ones are read in order (a known form
//! field given twice → 422, `invalid_ttl` for `ttl`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::ApiError;
use super::form::Form;
use super::json::JsonBody;

/// Field → messages, collected over a body's required fields.
pub(crate) type Errors = BTreeMap<String, Vec<String>>;

/// A decoded body whose string fields can be read by name: [`Form`] and [`JsonBody`].
pub(crate) trait Fields {
    /// The string field `name`, if present; a refusal (given twice, not a string) → 422.
    fn field(&self, name: &'static str) -> Result<Option<&str>, ApiError>;
}

impl Fields for Form {
    fn field(&self, name: &'static str) -> Result<Option<&str>, ApiError> {
        self.optional(name)
    }
}

impl Fields for JsonBody {
    fn field(&self, name: &'static str) -> Result<Option<&str>, ApiError> {
        self.string(name)
    }
}

/// A body type read from the decoded body `F` (see [`wire_body!`]).
pub(crate) trait FromFields<'a, F: ?Sized>: Sized {
    /// Read the fields of `src`.
    fn from_fields(src: &'a F) -> Result<Self, ApiError>;
}

/// The type of one field of a body: how it is checked (first pass, required fields only)
/// and read (second pass).
pub(crate) trait FieldValue<'a, F: ?Sized>: Sized {
    /// Record a problem with a required field in `errors` (a refusal that is not about a
    /// field, such as `invalid_ttl`, is returned at once).
    fn check(_src: &'a F, _name: &'static str, _errors: &mut Errors) -> Result<(), ApiError> {
        Ok(())
    }
    /// The value (after every check passed).
    fn read(src: &'a F, name: &'static str) -> Result<Self, ApiError>;
}

/// A required string.
impl<'a, F: Fields + ?Sized> FieldValue<'a, F> for &'a str {
    fn check(src: &'a F, name: &'static str, errors: &mut Errors) -> Result<(), ApiError> {
        match src.field(name) {
            Ok(Some(_)) => {}
            Ok(None) => {
                errors.insert(name.to_owned(), vec![format!("{name} is required")]);
            }
            Err(e) if e.code() != "validation_failed" => return Err(e),
            Err(e) => {
                errors.insert(name.to_owned(), vec![e.body().message]);
            }
        }
        Ok(())
    }

    fn read(src: &'a F, name: &'static str) -> Result<Self, ApiError> {
        Ok(src.field(name)?.unwrap_or_default())
    }
}

/// An optional string.
impl<'a, F: Fields + ?Sized> FieldValue<'a, F> for Option<&'a str> {
    fn read(src: &'a F, name: &'static str) -> Result<Self, ApiError> {
        src.field(name)
    }
}

/// A repeatable form field, given at least once (`redirectUri=a&redirectUri=b`).
impl<'a> FieldValue<'a, Form> for Vec<&'a str> {
    fn check(src: &'a Form, name: &'static str, errors: &mut Errors) -> Result<(), ApiError> {
        if src.all(name).is_empty() {
            errors.insert(name.to_owned(), vec![format!("{name} is required")]);
        }
        Ok(())
    }

    fn read(src: &'a Form, name: &'static str) -> Result<Self, ApiError> {
        Ok(src.all(name))
    }
}

/// An optional JSON boolean.
impl<'a> FieldValue<'a, JsonBody> for Option<bool> {
    fn read(src: &'a JsonBody, name: &'static str) -> Result<Self, ApiError> {
        src.boolean(name)
    }
}

/// An optional JSON object.
impl<'a> FieldValue<'a, JsonBody> for Option<&'a Map<String, Value>> {
    fn read(src: &'a JsonBody, name: &'static str) -> Result<Self, ApiError> {
        src.object(name)
    }
}

/// A JSON object of booleans (absent → empty).
impl<'a> FieldValue<'a, JsonBody> for BTreeMap<String, bool> {
    fn read(src: &'a JsonBody, name: &'static str) -> Result<Self, ApiError> {
        src.bool_map(name)
    }
}

/// Declares a request body: the struct with its `ToSchema` (each field renamed to its wire
/// name) and its [`FromFields`] from `$src` ([`Form`] or [`JsonBody`]), from one field
/// list. `Debug` shows field names only (values may be passwords).
macro_rules! wire_body {
    (
        $(#[$meta:meta])*
        struct $name:ident<$lt:lifetime> from $src:ty {
            $( $(#[$fmeta:meta])* $field:ident: $ty:ty = $wire:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(utoipa::ToSchema)]
        pub(crate) struct $name<$lt> {
            $( $(#[$fmeta])* #[schema(rename = $wire)] pub(crate) $field: $ty, )*
        }

        impl<$lt> $crate::fields::FromFields<$lt, $src> for $name<$lt> {
            fn from_fields(src: &$lt $src) -> Result<Self, $crate::ApiError> {
                let mut errors = $crate::fields::Errors::new();
                $( <$ty as $crate::fields::FieldValue<$lt, $src>>::check(src, $wire, &mut errors)?; )*
                if !errors.is_empty() {
                    return Err($crate::ApiError::fields(errors));
                }
                Ok(Self {
                    $( $field: <$ty as $crate::fields::FieldValue<$lt, $src>>::read(src, $wire)?, )*
                })
            }
        }

        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries([$($wire),*]).finish()
            }
        }
    };
}

pub(crate) use wire_body;

/// Read the body type `T` from a decoded body.
pub(crate) fn read<'a, T: FromFields<'a, F>, F: ?Sized>(src: &'a F) -> Result<T, ApiError> {
    T::from_fields(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    wire_body! {
        /// A test body.
        struct Sample<'a> from Form {
            name: &'a str = "name",
            secret: &'a str = "secret",
            ttl: Option<&'a str> = "ttl",
        }
    }

    #[test]
    fn reads_required_then_optional_fields_with_the_form_rules() {
        let form = Form::parse(b"name=n&secret=s&ttl=60&other=1").unwrap();
        let s: Sample<'_> = read(&form).unwrap();
        assert_eq!((s.name, s.secret, s.ttl), ("n", "s", Some("60")));
        assert_eq!(format!("{s:?}"), r#"["name", "secret", "ttl"]"#);
        // every missing or repeated required field in one 422, before the optional ones
        let form = Form::parse(b"name=a&name=b&ttl=1&ttl=2").unwrap();
        let e = read::<Sample<'_>, _>(&form).unwrap_err();
        let errors = e.body().errors.unwrap();
        assert!(errors["name"][0].contains("more than once"), "{errors:?}");
        assert!(errors["secret"][0].contains("required"), "{errors:?}");
        // then an optional field given twice
        let form = Form::parse(b"name=a&secret=s&ttl=1&ttl=2").unwrap();
        assert_eq!(
            read::<Sample<'_>, _>(&form).unwrap_err().code(),
            "invalid_ttl"
        );
    }

    wire_body! {
        /// A test JSON body.
        struct SampleJson<'a> from JsonBody {
            name: &'a str = "name",
            secret: &'a str = "secret",
            flag: Option<bool> = "flag",
        }
    }

    #[test]
    fn json_members_must_be_strings() {
        let body = JsonBody::parse(br#"{"name":"n","secret":"s","flag":true}"#).unwrap();
        let s: SampleJson<'_> = read(&body).unwrap();
        assert_eq!((s.name, s.secret, s.flag), ("n", "s", Some(true)));
        let body = JsonBody::parse(br#"{"name":1,"flag":true}"#).unwrap();
        let errors = read::<SampleJson<'_>, _>(&body)
            .unwrap_err()
            .body()
            .errors
            .unwrap();
        assert!(errors["name"][0].contains("must be a string"), "{errors:?}");
        assert!(errors["secret"][0].contains("required"), "{errors:?}");
    }
}
