package admin

import (
	"context"
	"iter"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// userProvider serves WBEMD_User from the user store.
type userProvider struct {
	spawner
	users *auth.Users
}

var (
	_ cimom.InstanceGetter     = (*userProvider)(nil)
	_ cimom.InstanceEnumerator = (*userProvider)(nil)
	_ cimom.InstanceDeleter    = (*userProvider)(nil)
	_ cimom.MethodProvider     = (*userProvider)(nil)
)

func (p *userProvider) Name() string { return providerName }

func (p *userProvider) PutInstance(ctx context.Context, ns string, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) error {
	return cim.Errorf(cim.EProviderNotCapable, "a user is created with %s.Create (it needs a password) and joins groups with %s.AddMember", UserClass, GroupClass)
}

func (p *userProvider) GetInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *cimom.Context) (*cim.Object, error) {
	name := keyName(path)
	usr, found, err := p.users.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, cim.Errorf(cim.ENotFound, "user %s does not exist", name).WithParam(name)
	}
	return p.userInstance(ctx, ns, usr)
}

func (p *userProvider) EnumerateInstances(ctx context.Context, ns, class string, wctx *cimom.Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		list, err := p.users.List(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, usr := range list {
			if !yield(p.userInstance(ctx, ns, usr)) {
				return
			}
		}
	}
}

func (p *userProvider) DeleteInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *cimom.Context) error {
	return p.users.Delete(ctx, keyName(path))
}

// ExecMethod runs Create (static) and SetPassword.
func (p *userProvider) ExecMethod(ctx context.Context, ns string, target *cim.ObjectPath, m *cim.Method, in *cim.Object, wctx *cimom.Context) (*cim.Object, error) {
	var err error
	switch {
	case cim.EqualFold(m.Name, "Create"):
		v, _ := in.Get("Administrator")
		admin, _ := v.V.(bool)
		err = p.users.Add(ctx, inString(in, "Name"), inString(in, "Password"), admin)
	case cim.EqualFold(m.Name, "SetPassword"):
		err = p.users.SetPassword(ctx, keyName(target), inString(in, "Password"))
	default:
		err = cim.Errorf(cim.EMethodNotImplemented, "%s.%s is not implemented", UserClass, m.Name)
	}
	if err != nil {
		return nil, err
	}
	return parameters(0), nil
}

// userInstance is the WBEMD_User of usr.
func (p *userProvider) userInstance(ctx context.Context, ns string, usr auth.User) (*cim.Object, error) {
	return p.spawn(ctx, ns, UserClass,
		cim.Property{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: usr.Name}},
		cim.Property{Name: "Groups", Type: cim.TypeString.ArrayOf(), Value: cim.Value{Type: cim.TypeString.ArrayOf(), V: nonNil(usr.Groups)}},
		cim.Property{Name: "Administrator", Type: cim.TypeBoolean, Value: cim.Value{Type: cim.TypeBoolean, V: usr.Admin}})
}

// groupProvider serves WBEMD_Group from the user store.
type groupProvider struct {
	spawner
	users *auth.Users
}

var (
	_ cimom.InstanceGetter     = (*groupProvider)(nil)
	_ cimom.InstanceEnumerator = (*groupProvider)(nil)
	_ cimom.InstanceDeleter    = (*groupProvider)(nil)
	_ cimom.MethodProvider     = (*groupProvider)(nil)
)

func (p *groupProvider) Name() string { return providerName }

// PutInstance creates a group; its members join with AddMember.
func (p *groupProvider) PutInstance(ctx context.Context, ns string, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) error {
	if v, err := inst.Get("Members"); err == nil && !v.IsNull() {
		if m, _ := v.V.([]string); len(m) > 0 {
			return cim.Errorf(cim.EInvalidParameter, "members join a group with %s.AddMember", GroupClass).WithParam("Members")
		}
	}
	name := inString(inst, "Name")
	err := p.users.AddGroup(ctx, name)
	if cim.StatusOf(err) == cim.EAlreadyExists && flags&cimom.FlagCreateOnly == 0 {
		return nil // an update of a group changes nothing
	}
	return err
}

func (p *groupProvider) GetInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *cimom.Context) (*cim.Object, error) {
	name := keyName(path)
	for inst, err := range p.EnumerateInstances(ctx, ns, GroupClass, wctx) {
		if err != nil {
			return nil, err
		}
		if v, _ := inst.Get("Name"); cim.EqualFold(v.V.(string), name) {
			return inst, nil
		}
	}
	return nil, cim.Errorf(cim.ENotFound, "group %s does not exist", name).WithParam(name)
}

func (p *groupProvider) EnumerateInstances(ctx context.Context, ns, class string, wctx *cimom.Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		list, err := p.users.ListGroups(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, g := range list {
			inst, err := p.spawn(ctx, ns, GroupClass,
				cim.Property{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: g.Name}},
				cim.Property{Name: "Members", Type: cim.TypeString.ArrayOf(), Value: cim.Value{Type: cim.TypeString.ArrayOf(), V: nonNil(g.Members)}})
			if !yield(inst, err) {
				return
			}
		}
	}
}

func (p *groupProvider) DeleteInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *cimom.Context) error {
	return p.users.DeleteGroup(ctx, keyName(path))
}

// ExecMethod runs AddMember and RemoveMember.
func (p *groupProvider) ExecMethod(ctx context.Context, ns string, target *cim.ObjectPath, m *cim.Method, in *cim.Object, wctx *cimom.Context) (*cim.Object, error) {
	var err error
	switch {
	case cim.EqualFold(m.Name, "AddMember"):
		err = p.users.AddMember(ctx, keyName(target), inString(in, "User"))
	case cim.EqualFold(m.Name, "RemoveMember"):
		err = p.users.RemoveMember(ctx, keyName(target), inString(in, "User"))
	default:
		err = cim.Errorf(cim.EMethodNotImplemented, "%s.%s is not implemented", GroupClass, m.Name)
	}
	if err != nil {
		return nil, err
	}
	return parameters(0), nil
}

// keyName returns the Name key of a path.
func keyName(p *cim.ObjectPath) string {
	for _, k := range p.Keys {
		if s, ok := k.Value.V.(string); ok {
			return s
		}
	}
	return ""
}

// spawner makes instances of one administration class.
type spawner struct{ om *cimom.CIMOM }

// spawn returns an instance of class in ns with the values of props.
func (sp spawner) spawn(ctx context.Context, ns, class string, props ...cim.Property) (*cim.Object, error) {
	svc, err := sp.om.Connect(ctx, ns, self)
	if err != nil {
		return nil, err
	}
	cls, err := svc.GetObject(ctx, class, 0, nil)
	if err != nil {
		return nil, err
	}
	inst, err := cls.SpawnInstance()
	if err != nil {
		return nil, err
	}
	for _, p := range props {
		if err := inst.Put(p.Name, p.Value); err != nil {
			return nil, err
		}
	}
	return inst, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
