package exchangelog

// MultiRow is multiRow, for the benchmark's bare INSERTs: the floor uses
// the statements the log uses.
var MultiRow = multiRow

// MaxRowsPerStatement is maxRowsPerStatement, for the same.
const MaxRowsPerStatement = maxRowsPerStatement

// Batches returns how many transactions have committed appends.
func Batches(l *Log) int64 { return l.batches.Load() }
