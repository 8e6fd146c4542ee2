package declaration

import "context"

// IssueWithoutCode stores a draft and issues it at once, skipping the
// one-time code, for benchmarks of the issuing path.
func IssueWithoutCode(ctx context.Context, s *Service, p Person, d Draft) (*Document, error) {
	doc, err := s.Create(ctx, p, d)
	if err != nil {
		return nil, err
	}
	return doc, s.issue(ctx, doc, "", "")
}

// Font returns the embedded font, for the naive baseline of benchmarks.
func Font() []byte { return fontRegular }

// Idle reports whether no issue is queued or being issued.
func Idle(s *Service) bool {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return !s.batch.leading && len(s.batch.queue) == 0
}

// RenderPDF draws and signs a document's PDF anew, storing nothing: what
// the first download of each document costs.
func RenderPDF(ctx context.Context, s *Service, d *Document) ([]byte, error) {
	content, err := s.QRContent(ctx, d)
	if err != nil {
		return nil, err
	}
	return s.renderPDF(d, content)
}
