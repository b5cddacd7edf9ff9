//! `$metadata` read into entity descriptions, on documents shaped as Dataverse and finance and
//! operations publish them (CONNECTORS.md section 3; the msdyn_actual Web API reference).

use super::*;

/// Dataverse's shape: namespace `Microsoft.Dynamics.CRM` aliased `mscrm`, a base entity type,
/// GUID keys, `_x_value` lookup properties with their navigation properties, option sets as
/// Int32, money as decimals.
const DATAVERSE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="crmbaseentity" Abstract="true"/>
      <EntityType Name="msdyn_actual" BaseType="mscrm.crmbaseentity">
        <Key><PropertyRef Name="msdyn_actualid"/></Key>
        <Property Name="msdyn_actualid" Type="Edm.Guid"/>
        <Property Name="msdyn_description" Type="Edm.String" Unicode="false"/>
        <Property Name="msdyn_amount" Type="Edm.Decimal" Scale="Variable"/>
        <Property Name="msdyn_quantity" Type="Edm.Decimal" Precision="23" Scale="10"/>
        <Property Name="msdyn_transactiontypecode" Type="Edm.Int32"/>
        <Property Name="msdyn_documentdate" Type="Edm.Date"/>
        <Property Name="modifiedon" Type="Edm.DateTimeOffset" Nullable="false"/>
        <Property Name="versionnumber" Type="Edm.Int64"/>
        <Property Name="_msdyn_project_value" Type="Edm.Guid"/>
        <Property Name="msdyn_exchangerate" Type="Edm.Double"/>
        <Property Name="entityimage" Type="Edm.Stream"/>
        <NavigationProperty Name="msdyn_Project" Type="mscrm.msdyn_project" Nullable="false" Partner="msdyn_msdyn_project_msdyn_actual_Project"/>
      </EntityType>
      <EntityType Name="msdyn_project" BaseType="mscrm.crmbaseentity">
        <Key><PropertyRef Name="msdyn_projectid"/></Key>
        <Property Name="msdyn_projectid" Type="Edm.Guid"/>
        <Property Name="msdyn_subject" Type="Edm.String"/>
      </EntityType>
      <EntityContainer Name="System">
        <EntitySet Name="msdyn_actuals" EntityType="Microsoft.Dynamics.CRM.msdyn_actual"/>
        <EntitySet Name="msdyn_projects" EntityType="Microsoft.Dynamics.CRM.msdyn_project"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"#;

/// Finance and operations' shape: data entities with composite keys including `dataAreaId`,
/// enumerations in `Microsoft.Dynamics.DataEntities`.
const FINOPS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Microsoft.Dynamics.DataEntities" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EnumType Name="NoYes"><Member Name="No" Value="0"/><Member Name="Yes" Value="1"/></EnumType>
      <EntityType Name="ProjCDSActualsImportEntity">
        <Key><PropertyRef Name="dataAreaId"/><PropertyRef Name="ActualId"/></Key>
        <Property Name="dataAreaId" Type="Edm.String" Nullable="false" MaxLength="4"/>
        <Property Name="ActualId" Type="Edm.Guid" Nullable="false"/>
        <Property Name="AccountingAmount" Type="Edm.Decimal" Nullable="false" Precision="32" Scale="6"/>
        <Property Name="IsPosted" Type="Microsoft.Dynamics.DataEntities.NoYes" Nullable="false"/>
      </EntityType>
      <EntityContainer Name="Resources">
        <EntitySet Name="ProjCDSActualsImports" EntityType="Microsoft.Dynamics.DataEntities.ProjCDSActualsImportEntity"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"#;

#[test]
fn a_dataverse_entity_set_is_described() {
    let m = Metadata::parse(DATAVERSE, "test").unwrap();
    let d = m.describe("msdyn_actuals").unwrap();
    assert_eq!(d.name, "msdyn_actuals");
    assert_eq!(
        d.key_columns().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["msdyn_actualid"]
    );
    let ty = |n: &str| d.column(n).unwrap().value_type;
    assert_eq!(ty("msdyn_actualid"), ValueType::Guid);
    assert_eq!(ty("msdyn_amount"), ValueType::Decimal);
    assert_eq!(
        ty("msdyn_exchangerate"),
        ValueType::Decimal,
        "doubles are read as exact decimals"
    );
    assert_eq!(
        ty("msdyn_transactiontypecode"),
        ValueType::Int,
        "option sets are integers"
    );
    assert_eq!(ty("msdyn_documentdate"), ValueType::Date);
    assert_eq!(ty("modifiedon"), ValueType::DateTime);
    assert_eq!(
        ty("_msdyn_project_value"),
        ValueType::Guid,
        "a lookup reads as its GUID"
    );
    assert_eq!(d.column("msdyn_quantity").unwrap().decimal, Some((23, 10)));
    assert_eq!(
        d.column("msdyn_amount").unwrap().decimal,
        None,
        "Scale=Variable has no fixed scale"
    );
    assert!(!d.column("modifiedon").unwrap().nullable);
    assert!(d.column("entityimage").is_none(), "streams are left out");
    let t = m.entity_type("msdyn_actuals").unwrap();
    assert_eq!(t.navigation[0].name, "msdyn_Project");
    assert_eq!(t.navigation[0].target, "mscrm.msdyn_project");
}

#[test]
fn a_finops_entity_has_a_composite_key_and_enums() {
    let m = Metadata::parse(FINOPS, "test").unwrap();
    let d = m.describe("ProjCDSActualsImports").unwrap();
    assert_eq!(
        d.key_columns().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["dataAreaId", "ActualId"]
    );
    assert_eq!(d.column("AccountingAmount").unwrap().decimal, Some((32, 6)));
    assert_eq!(
        d.column("IsPosted").unwrap().value_type,
        ValueType::Text,
        "an enum is its member name"
    );
    assert_eq!(m.enums["Microsoft.Dynamics.DataEntities.NoYes"], ["No", "Yes"]);
}

#[test]
fn an_unknown_entity_set_is_named_with_the_nearest() {
    let m = Metadata::parse(DATAVERSE, "test").unwrap();
    let err = m.describe("msdyn_actual").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.hint.as_deref(), Some("did you mean `msdyn_actuals`?"));
    let err = Metadata::parse("<html>sign in</html", "https://x/api").unwrap_err();
    assert!(err.message.contains("not XML"), "{err}");
}
