//! `db_enum!`: a Rust enum stored as a string in a `text` column (whose CHECK
//! constraint lists the same strings), serialised as that string and
//! documented as a string enum in the OpenAPI spec. An unknown string read
//! from the database is a deserialization error, never a panic.

/// A string a `db_enum!` type does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {type_name}")]
pub struct UnknownValue {
    pub type_name: &'static str,
    pub value: String,
}

/// Declares an enum whose variants map one to one to strings:
///
/// ```ignore
/// db_enum! {
///     /// Where a page stands.
///     pub enum PageStatus {
///         Draft = "draft",
///         Published = "published",
///     }
/// }
/// ```
///
/// Derives `Debug, Clone, Copy, PartialEq, Eq, Hash`, serde (as the string),
/// `utoipa::ToSchema`, and diesel's `ToSql`/`FromSql` on `Text` for
/// PostgreSQL; adds `ALL`, `as_str`, `Display` and `FromStr`.
#[macro_export]
macro_rules! db_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
            diesel::AsExpression,
            diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in the database and sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::db::enums::UnknownValue;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::db::enums::UnknownValue {
                        type_name: stringify!($name),
                        value: value.to_owned(),
                    }),
                }
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                ::std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = ::std::str::from_utf8(value.as_bytes())?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::db_enum! {
        /// A test enum.
        pub enum Sample {
            One = "one",
            TwoWords = "two_words",
        }
    }

    #[test]
    fn variants_round_trip_through_their_strings_and_unknown_ones_are_errors() {
        for sample in Sample::ALL {
            assert_eq!(sample.as_str().parse::<Sample>(), Ok(*sample));
            assert_eq!(sample.to_string(), sample.as_str());
            let json = serde_json::to_value(sample).unwrap_or_default();
            assert_eq!(json, serde_json::json!(sample.as_str()));
            assert_eq!(serde_json::from_value::<Sample>(json).ok(), Some(*sample));
        }
        assert_eq!(Sample::TwoWords.as_str(), "two_words");
        let unknown = "three".parse::<Sample>();
        assert_eq!(
            unknown.map_err(|err| err.to_string()),
            Err("\"three\" is not a known Sample".to_owned())
        );
        assert!("One".parse::<Sample>().is_err());
        assert!(serde_json::from_value::<Sample>(serde_json::json!("three")).is_err());
    }
}
