package tracker

// originPolicy is websocketsAccess compiled for lookups. It is static after construction.
type originPolicy struct {
	active    bool // any rule set; otherwise every origin passes
	allow     map[string]struct{}
	deny      map[string]struct{}
	hasAllow  bool
	denyEmpty bool
}

func newOriginPolicy(c AccessConfig) originPolicy {
	set := func(list []string) map[string]struct{} {
		m := make(map[string]struct{}, len(list))
		for _, o := range list {
			m[o] = struct{}{}
		}
		return m
	}
	return originPolicy{
		active:    c.DenyEmptyOrigin || c.AllowOrigins != nil || c.DenyOrigins != nil,
		allow:     set(c.AllowOrigins),
		deny:      set(c.DenyOrigins),
		hasAllow:  c.AllowOrigins != nil,
		denyEmpty: c.DenyEmptyOrigin,
	}
}

// allowed applies wt-tracker's rule: deny when (denyEmptyOrigin and the Origin header is
// empty or absent) or the origin is in denyOrigins or allowOrigins is set and does not
// contain it. Matching is exact; "" in allowOrigins admits clients that send no Origin
// (non-browser seeders), as wt-tracker#25 suggests.
func (p originPolicy) allowed(origin string) bool {
	if !p.active {
		return true
	}
	if p.denyEmpty && origin == "" {
		return false
	}
	if _, ok := p.deny[origin]; ok {
		return false
	}
	if p.hasAllow {
		_, ok := p.allow[origin]
		return ok
	}
	return true
}
