//! What every resolver can reach: the app, the viewer, and this request's loaders.

use async_graphql::{Context, Result};

use crate::{app::App, auth::Viewer, graphql::loaders::Loaders};

/// Typed access to request data (instead of `data_unchecked`).
pub trait ContextExt {
    fn app(&self) -> Result<&App>;
    fn viewer(&self) -> Result<&Viewer>;
    fn loaders(&self) -> Result<&Loaders>;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> Result<&App> {
        self.data::<App>()
    }
    fn viewer(&self) -> Result<&Viewer> {
        self.data::<Viewer>()
    }
    fn loaders(&self) -> Result<&Loaders> {
        self.data::<std::sync::Arc<Loaders>>().map(|l| l.as_ref())
    }
}
