//! Procedural macros of `streams-runtime`: the `Json` derive (and, next, `topology!`).

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, DeriveInput};

/// Gives a serde type the default codec `Json<Self>`, so that `to(topic)` can write it.
///
/// ```
/// use streams_runtime::{DefaultCodec, Json};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize, Json)]
/// struct Trade { ticker: String, price: f64 }
///
/// fn codec_of<T: DefaultCodec>() -> String { <T::Codec as streams_runtime::Codec>::name() }
/// assert_eq!(codec_of::<Trade>(), "Json<Trade>");
/// ```
#[proc_macro_derive(Json)]
pub fn derive_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::streams_runtime::DefaultCodec for #name #ty_generics #where_clause {
            type Codec = ::streams_runtime::Json<Self>;
        }
    }
    .into()
}
