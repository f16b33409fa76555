//! Email cells: splitting a cell into addresses, cleaning what people paste, and
//! deciding whether a mail system would take each address as written.

/// One address found in an email cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellAddress {
    /// The address to send when valid (cleaned, in its sendable form), or the piece
    /// of the cell as found when invalid.
    pub text: String,
    /// Why the address cannot be sent; `None` when it is valid.
    pub invalid: Option<String>,
}

/// Splits an email cell into its addresses, in order. An empty cell gives none.
pub fn parse_cell(cell: &str) -> Vec<CellAddress> {
    let _ = cell;
    todo!("email parsing")
}
