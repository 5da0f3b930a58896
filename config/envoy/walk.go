package envoy

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// fieldRule is how the adapter treats one proto field; see handled.
type fieldRule struct {
	// check, when set, inspects the field's value and returns a warning for a value the
	// gateway does not apply as Envoy would ("" when it does).
	check func(fd protoreflect.FieldDescriptor, v protoreflect.Value) string
	// leaf means the field is consumed whole: its subfields are not looked at (a plugin's
	// configuration Any, a Struct).
	leaf bool
	// note, for a field accepted without effect, says why that changes nothing here. Such
	// fields are listed in docs/compatibility.md with the note.
	note string
}

// handled lists every proto field the Envoy adapter applies, by full name
// ("envoy.config.cluster.v3.Cluster.connect_timeout"). After a file is parsed, the set fields of
// the bootstrap are walked (see walkUnhandled): a field that is set and not listed here gets one
// warning naming the file and the field path, so no field is ever dropped silently. A field is
// listed only when the adapter carries it into the model (or, with a note, when it has no
// effect to carry).
//
// To support a field: implement it, then register it with handle, handleIf, handleLeaf or
// accept — in fields.go, or from an init function in the file that implements it.
var handled = map[protoreflect.FullName]fieldRule{}

// handle registers fields the adapter applies, by full name.
func handle(names ...string) {
	for _, n := range names {
		handled[protoreflect.FullName(n)] = fieldRule{}
	}
}

// handleIf registers a field whose value check says which values are not applied.
func handleIf(name string, check func(fd protoreflect.FieldDescriptor, v protoreflect.Value) string) {
	handled[protoreflect.FullName(name)] = fieldRule{check: check}
}

// handleLeaf registers fields the adapter consumes whole.
func handleLeaf(names ...string) {
	for _, n := range names {
		handled[protoreflect.FullName(n)] = fieldRule{leaf: true}
	}
}

// accept registers fields that are read and have no effect in the gateway, with the reason.
func accept(note string, names ...string) {
	for _, n := range names {
		handled[protoreflect.FullName(n)] = fieldRule{leaf: true, note: note}
	}
}

// walkUnhandled reports every set field of m (at path) that handled does not list, and the
// values a handled field's check rejects. Subtrees where the parser already reported a problem
// (an ignored filter, a rejected route) are skipped: that problem accounts for them. Anys are
// followed into the message the parser unpacked from them.
func (p *parser) walkUnhandled(m protoreflect.Message, path fieldPath) {
	if p.reportedAt(path) {
		return
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		fpath := path.key(string(fd.Name()))
		if p.reportedAt(fpath) {
			continue
		}
		rule, ok := handled[fd.FullName()]
		if !ok {
			p.warnf(fpath, "%s is not supported by wasmgate; ignored", fd.Name())
			continue
		}
		v := m.Get(fd)
		if rule.check != nil {
			if msg := rule.check(fd, v); msg != "" {
				p.warnf(fpath, "%s", msg)
				continue
			}
		}
		if rule.leaf || (fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind) {
			continue
		}
		switch {
		case fd.IsList():
			l := v.List()
			for j := range l.Len() {
				p.walkValue(fd.Message(), l.Get(j).Message(), fpath.idx(j))
			}
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			var keys []string
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k.String())
				return true
			})
			slices.Sort(keys)
			for _, k := range keys {
				mv := v.Map().Get(protoreflect.ValueOfString(k).MapKey())
				p.walkValue(fd.MapValue().Message(), mv.Message(), fpath.key(k))
			}
		default:
			p.walkValue(fd.Message(), v.Message(), fpath)
		}
	}
}

// walkValue walks one message value: an Any through what the parser unpacked from it, a
// well-known type not at all (it is a value, not configuration structure).
func (p *parser) walkValue(md protoreflect.MessageDescriptor, m protoreflect.Message, path fieldPath) {
	switch {
	case md.FullName() == "google.protobuf.Any":
		if p.reportedAt(path) {
			return
		}
		u, ok := p.unpacked[path.String()]
		if !ok {
			a, _ := m.Interface().(*anypb.Any)
			p.warnf(path, "%s is not applied by wasmgate; ignored", typeLabel(a.GetTypeUrl()))
			return
		}
		if u.msg != nil {
			p.walkUnhandled(u.msg.ProtoReflect(), u.body)
		}
	case wellKnownJSON[md.FullName()]:
	default:
		p.walkUnhandled(m, path)
	}
}

// reportedAt reports whether a problem was recorded at path or at one of its ancestors.
func (p *parser) reportedAt(path fieldPath) bool {
	for i := len(path); i >= 0; i-- {
		if p.reported[path[:i].String()] {
			return true
		}
	}
	return false
}

func typeLabel(typeURL string) string {
	if typeURL == "" {
		return "an empty extension"
	}
	return "type " + strings.TrimPrefix(typeURL, "type.googleapis.com/")
}

// enumCheck returns a check that accepts the listed enum values (by name) and warns about the
// others with format, which gets the field's and the value's names.
func enumCheck(format string, ok ...string) func(protoreflect.FieldDescriptor, protoreflect.Value) string {
	return func(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
		name := enumNameOf(fd, v)
		if slices.Contains(ok, name) {
			return ""
		}
		return fmt.Sprintf(format, fd.Name(), name)
	}
}

// enumNameOf is the name of an enum value in a field.
func enumNameOf(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
		return string(ev.Name())
	}
	return fmt.Sprint(v.Enum())
}
