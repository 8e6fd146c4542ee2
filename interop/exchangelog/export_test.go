package exchangelog

// MultiRow is multiRow, for the benchmark's bare INSERTs: the floor uses
// the statements the log uses.
var MultiRow = multiRow

// MaxRowsPerStatement is maxRowsPerStatement, for the same.
const MaxRowsPerStatement = maxRowsPerStatement
