# Tables for the infrar kv capability: one table per logical name in the code, in a storage
# account of their own per environment (apart from the blob account, so each capability's
# module stands alone). Requests need an Azure AD token (shared keys and anonymous access are
# off) over TLS 1.2 or later; data is encrypted at rest twice. Each table gets a custom role
# with exactly the data actions the code needs, assigned on that table alone.

variable "tables" {
  description = "Logical name -> physical name and the Azure data actions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "app_principal_ids" {
  description = "Object IDs that receive each table's role."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each table."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "resource_group_name" {
  description = "Resource group to create; empty derives one."
  type        = string
  default     = ""
}

variable "account_name" {
  description = "Storage account name; empty derives one."
  type        = string
  default     = ""
}

variable "replication_type" {
  description = "Storage redundancy."
  type        = string
  default     = "GRS"
}

data "azurerm_client_config" "current" {}

locals {
  tags                = merge(var.tags, { project = var.project, environment = var.environment })
  resource_group_name = var.resource_group_name != "" ? var.resource_group_name : join("-", compact(["infrar", var.project, var.environment, "tables"]))
  # Account names are global: derived from the subscription, project and environment only, so
  # adding a table never renames (and so never replaces) the account.
  account_name = var.account_name != "" ? var.account_name : "infrarkv${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.project}/${var.environment}/tables"), 0, 16)}"
  # Table Storage names hold letters and digits only.
  names = { for key, table in var.tables : key => replace(table.name, "-", "") }
  grants = {
    for pair in setproduct(keys(var.tables), var.app_principal_ids) : "${pair[0]} ${pair[1]}" => {
      table     = pair[0]
      principal = pair[1]
    }
  }
}

resource "azurerm_resource_group" "this" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

resource "azurerm_storage_account" "this" {
  # checkov:skip=CKV_AZURE_33:The account serves tables only; no queue exists whose requests could be logged.
  # checkov:skip=CKV2_AZURE_1:Encrypted at rest twice with Microsoft-managed keys; customer keys need a Key Vault the project owns.
  # checkov:skip=CKV2_AZURE_33:A private endpoint needs a virtual network, which the application may not run in.
  # checkov:skip=CKV_AZURE_59:The application may run outside Azure; every request still needs an Azure AD token over TLS.
  # checkov:skip=CKV_AZURE_35:The application may run outside Azure; every request still needs an Azure AD token over TLS.
  # checkov:skip=CKV2_AZURE_38:Soft delete covers blobs and containers; the account holds tables only, which Azure cannot soft-delete.
  name                              = local.account_name
  resource_group_name               = azurerm_resource_group.this.name
  location                          = azurerm_resource_group.this.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  local_user_enabled                = false
  public_network_access_enabled     = true
  tags                              = local.tags

  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

# Through Azure Resource Manager, not azurerm_storage_table: that resource also reads and
# writes the table's ACL with the account's shared key, which this account refuses. Deleting
# a deployment deletes the table it made.
resource "azurerm_resource_group_template_deployment" "table" {
  for_each = local.names

  name                = each.value
  resource_group_name = azurerm_resource_group.this.name
  deployment_mode     = "Incremental"
  template_content = jsonencode({
    "$schema"      = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
    contentVersion = "1.0.0.0"
    resources = [{
      type       = "Microsoft.Storage/storageAccounts/tableServices/tables"
      apiVersion = "2023-01-01"
      name       = "${azurerm_storage_account.this.name}/default/${each.value}"
    }]
  })
}

resource "azurerm_role_definition" "table" {
  for_each = var.tables

  name        = "infrar ${local.account_name} ${local.names[each.key]}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${var.project} ${var.environment} code does with table ${local.names[each.key]}."

  permissions {
    actions      = []
    data_actions = sort(each.value.permissions)
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "table" {
  for_each = local.grants

  scope              = "${azurerm_storage_account.this.id}/tableServices/default/tables/${local.names[each.value.table]}"
  role_definition_id = azurerm_role_definition.table[each.value.table].role_definition_resource_id
  principal_id       = each.value.principal

  depends_on = [azurerm_resource_group_template_deployment.table]
}

# Per service: a custom role per table it uses, with what its code does there alone.
locals {
  service_tables = merge({}, [
    for name, grant in var.service_grants : {
      for key, permissions in grant.resources : "${name} ${key}" => {
        service     = name
        table       = key
        principal   = grant.principal
        permissions = sort(permissions)
      } if length(permissions) > 0
    }
  ]...)
}

resource "azurerm_role_definition" "service_table" {
  for_each = local.service_tables

  name        = "infrar ${local.account_name} ${local.names[each.value.table]} ${each.value.service}"
  scope       = azurerm_resource_group.this.id
  description = "What the ${each.value.service} service of ${var.project} ${var.environment} does with table ${local.names[each.value.table]}."

  permissions {
    actions      = []
    data_actions = each.value.permissions
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "service_table" {
  for_each = local.service_tables

  scope              = "${azurerm_storage_account.this.id}/tableServices/default/tables/${local.names[each.value.table]}"
  role_definition_id = azurerm_role_definition.service_table[each.key].role_definition_resource_id
  principal_id       = each.value.principal
  principal_type     = "ServicePrincipal"

  depends_on = [azurerm_resource_group_template_deployment.table]
}

output "table_names" {
  description = "The names Azure knows the tables by (without hyphens), by logical name."
  value       = { for key, deployment in azurerm_resource_group_template_deployment.table : key => deployment.name }
}

output "account_url" {
  description = "The table endpoint of the storage account."
  value       = azurerm_storage_account.this.primary_table_endpoint
}

output "table_roles" {
  description = "The custom role of each table, by logical name."
  value       = { for key, role in azurerm_role_definition.table : key => role.role_definition_resource_id }
}
