//! What the operator's CLI asks of an image, decided without I/O: which image an argument names
//! ([`image_arg`]), why it does not pull ([`doctor`]), and what a repository policy says about a
//! principal ([`resource_policy`]).

pub mod doctor;
pub mod image_arg;
pub mod resource_policy;
